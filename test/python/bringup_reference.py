#!/usr/bin/env python3
"""PyTorch reference embeddings of DICOM files, preprocessed independently of Lightbox, for the bring-up test.

  /usr/bin/python3 test/python/bringup_reference.py --package <dir> --torchvision densenet121 --seed 0 \
      --dicom <file or dir> ... --out ref.json
  /usr/bin/python3 test/python/bringup_reference.py --package <dir> --builder test/python/clip_tiny.py:image_tower ...

Rebuilds the model the exporter exported (same torchvision architecture and seed: identical weights) and runs it on
every image in the given DICOM files. Preprocessing follows the package's manifest, written from the DICOM
standard and the manifest's field descriptions, sharing no code with Lightbox:
  1. pixels: pydicom's pixel_array (its own decoders); multi-frame files use the middle frame, (frames - 1) // 2,
     which is the frame Lightbox embeds for an instance;
  2. modality LUT: value * RescaleSlope + RescaleIntercept (defaults 1, 0);
  3. VOI: intensity.mode voi-from-file with the first Window Center/Width, PS3.3 C.11.2.1.2.1 (LINEAR:
     ((x - (c - 0.5)) / (w - 1) + 0.5) clipped to 0..1; LINEAR_EXACT: (x - c) / w + 0.5; SIGMOID), else the
     fallback `minmax` (only minmax / voi-from-file / fixed-window are implemented here: percentile is not);
  4. MONOCHROME1 inverted (1 - v) when invertMonochrome1; RGB 8-bit: value / (2^BitsStored - 1);
  5. grey -> RGB by replicating the plane into 3 channels;
  6. resize by PIL's Image.resize(BILINEAR, box=...) on float32 ('F') planes, one per channel: a triangle filter,
     widened when shrinking (antialiased), with `box` giving the centre crop (center-crop: scale by the larger
     ratio, crop the middle) or the whole image (stretch: independent x/y scales); letterbox is not implemented;
     torch's interpolate(bilinear, antialias=True) is used when PIL is missing;
  7. (v - mean[c]) / std[c], NCHW float32.
Output JSON: {"embeddings": {"<SOPInstanceUID>:<frame>": [L2-normalised floats]}, "broken": {...}} where `broken`
holds the same images preprocessed with deliberate mistakes (named by key), to show the tolerance catches them.
"""
import argparse
import importlib.util
import json
import os

import numpy as np
import pydicom
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def exporter():
    spec = importlib.util.spec_from_file_location('export_hf_model', os.path.join(HERE, '..', '..', 'scripts', 'export-hf-model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def first(v):
    if v is None:
        return None
    if isinstance(v, pydicom.multival.MultiValue):
        v = v[0]
    return float(v)


def voi(x, c, w, fn):
    if fn == 'SIGMOID':
        return 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    if fn == 'LINEAR_EXACT':
        return np.clip((x - c) / w + 0.5, 0, 1)
    return np.clip((x - (c - 0.5)) / max(w - 1.0, 1.0) + 0.5, 0, 1)


def unit_plane(ds, frame, intensity, skip_window=False):
    """The chosen frame in 0..1, shape (H, W, C)."""
    a = ds.pixel_array
    frames = int(getattr(ds, 'NumberOfFrames', 1) or 1)
    if frames > 1:
        a = a[frame]
    a = a.astype(np.float64)
    if ds.get('SamplesPerPixel', 1) == 3:
        return a / (2 ** int(ds.BitsStored) - 1)
    slope = float(ds.get('RescaleSlope', 1) or 1)
    inter = float(ds.get('RescaleIntercept', 0) or 0)
    x = a * slope + inter
    c, w = first(ds.get('WindowCenter')), first(ds.get('WindowWidth'))
    mode = intensity['mode']
    win = None
    if mode == 'voi-from-file' and c is not None and w is not None and w > 0:
        win = (c, w, str(ds.get('VOILUTFunction', 'LINEAR') or 'LINEAR').upper())
    elif mode == 'fixed-window':
        fw = intensity['windows'].get(ds.Modality, intensity['windows'].get('default'))
        if fw:
            win = (fw['center'], fw['width'], 'LINEAR')
    stretch = mode if mode in ('minmax', 'percentile') else intensity['fallback']
    if win and not skip_window:
        v = voi(x, *win)
    elif stretch == 'minmax' or skip_window:
        lo, hi = x.min(), x.max()
        v = np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x)
    else:
        raise SystemExit(f'{ds.SOPInstanceUID}: percentile intensity is not implemented in the reference')
    if intensity.get('invertMonochrome1', True) and ds.PhotometricInterpretation == 'MONOCHROME1':
        v = 1.0 - v
    return v[:, :, None]


def resize(plane, H, W, mode):
    h, w, C = plane.shape
    sx, sy = W / w, H / h
    if mode == 'letterbox':
        sx = sy = min(sx, sy)
    elif mode == 'center-crop':
        sx = sy = max(sx, sy)
    # The output covers source x in [-ox/sx, (W - ox)/sx], centred on the image.
    ox, oy = (W - w * sx) / 2, (H - h * sy) / 2
    box = (-ox / sx, -oy / sy, (W - ox) / sx, (H - oy) / sy)
    try:
        from PIL import Image
    except ImportError:
        Image = None
    out = np.zeros((H, W, C), dtype=np.float64)
    if mode == 'letterbox':
        raise SystemExit('letterbox is not implemented in the reference (PIL boxes cannot extend past the image)')
    for c in range(C):
        if Image is not None:
            img = Image.fromarray(plane[:, :, c].astype(np.float32), mode='F')
            out[:, :, c] = np.asarray(img.resize((W, H), Image.BILINEAR, box=box), dtype=np.float64)
        else:
            if mode == 'center-crop':
                raise SystemExit('center-crop without PIL is not implemented in the reference; install python3-pil')
            t = torch.from_numpy(plane[None, None, :, :, c].astype(np.float32))
            out[:, :, c] = torch.nn.functional.interpolate(t, size=(H, W), mode='bilinear', align_corners=False, antialias=True)[0, 0].numpy()
    return out


def tensor(ds, frame, enc, skip_window=False, resize_mode=None):
    inp = enc['input']
    p = unit_plane(ds, frame, enc['intensity'], skip_window)
    if inp['channels'] == 3 and p.shape[2] == 1:
        p = np.repeat(p, 3, axis=2)
    p = resize(p, inp['height'], inp['width'], resize_mode or inp['resize'])
    mean = np.asarray(inp['mean'])[None, None, :]
    std = np.asarray(inp['std'])[None, None, :]
    return ((p - mean) / std).astype(np.float32).transpose(2, 0, 1)


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    yield os.path.join(root, n)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--package', required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--torchvision', help='the torchvision architecture the exporter was given')
    src.add_argument('--builder', help='<file.py>:<function>, a function of the seed returning the image tower')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--dicom', nargs='+', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.package, 'manifest.json')))
    enc = manifest['imageEncoder']
    if a.torchvision:
        model = exporter().build_torchvision(a.torchvision, a.seed)
    else:
        file, fn = a.builder.rsplit(':', 1)
        spec = importlib.util.spec_from_file_location('builder', file)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        model = getattr(mod, fn)(a.seed).eval()
    variants = {'ok': {}, 'no-window': {'skip_window': True},
                'stretch': {'resize_mode': 'stretch' if enc['input']['resize'] != 'stretch' else 'center-crop'}}
    batches = {k: ([], []) for k in variants}
    for f in files(a.dicom):
        try:
            ds = pydicom.dcmread(f)
        except Exception:
            continue
        if 'PixelData' not in ds:
            continue
        frames = int(getattr(ds, 'NumberOfFrames', 1) or 1)
        frame = (frames - 1) // 2
        for k, kw in variants.items():
            batches[k][0].append(f'{ds.SOPInstanceUID}:{frame}')
            batches[k][1].append(tensor(ds, frame, enc, **kw))
    result = {}
    with torch.no_grad():
        for k, (keys, ts) in batches.items():
            emb = []
            for i in range(0, len(ts), 8):
                emb.append(model(torch.from_numpy(np.stack(ts[i:i + 8]))).double().numpy())
            e = np.concatenate(emb)
            e /= np.linalg.norm(e, axis=1, keepdims=True)
            result[k] = {key: row.tolist() for key, row in zip(keys, e)}
    json.dump({'embeddings': result.pop('ok'), 'broken': result}, open(a.out, 'w'))
    print(f'{len(batches["ok"][0])} images')


if __name__ == '__main__':
    main()
