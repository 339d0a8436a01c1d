#!/usr/bin/env python3
"""Export a PyTorch image(-text) model to a Lightbox model package.

Vision-only, with nothing but Debian's python3-torch, python3-torchvision and python3-onnx (no transformers, no
Python onnxruntime; this path is what `test/unit/model-bringup.test.ts` runs in CI):

  /usr/bin/python3 scripts/export-hf-model.py --torchvision densenet121 --out <package dir> \
      [--weights <state_dict.pt> | --random-weights --seed 0] [--size 224 | --height H --width W] \
      [--mean 0.485 0.456 0.406 --std 0.229 0.224 0.225] [--resize stretch|letterbox|center-crop] \
      [--intensity percentile|voi-from-file|fixed-window|minmax] [--fallback percentile|minmax]

  The classification head (classifier / fc / heads / head) is replaced by Identity, so the embedding is the pooled
  feature vector (DenseNet-121: 1024-d).

Hugging Face models (optional; only this path imports transformers):

  pip install torch transformers onnx        # on a machine with internet, once
  python3 scripts/export-hf-model.py --model <hf id or local dir> --out <package dir> [--labels labels.json] ...

  Works for CLIP-style models loadable with transformers' AutoModel that offer get_image_features (and, for a
  zero-shot head, get_text_features), and for vision-only encoders (RAD-DINO style: the pooled output, or the CLS
  token of last_hidden_state, is the embedding). labels.json, optional:
  [{"name": "cardiomegaly", "prompt": "a chest radiograph showing an enlarged heart"}, ...]; the text encoder runs
  once here and the package carries the text embeddings as its zero-shot head.

Models with their own loaders (MedImageInsight's UniCL code, BiomedCLIP's open_clip): load the model in Python
yourself and call export_package() below with its vision tower (and export_text_encoder() with its text tower).

Parity: export_package() checks the ONNX graph with onnx.checker; when the Python onnxruntime is installed it also
prints max |torch - onnxruntime| over normalised embeddings of a random batch. Without it (Debian), check parity the
way the test does: `lightbox embed --project <dir> --model <package dir> --provider cpu --json`, then compare the
stored vectors (embeddings/<hash>/vectors.npy, rows.csv) with PyTorch run on the same DICOM files preprocessed as
the manifest says (test/python/bringup_reference.py does exactly that).
"""
import argparse
import hashlib
import json
import os

import numpy as np

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def build_torchvision(arch, seed=0, weights=None):
    """A torchvision model with its classification head replaced by Identity; random weights from `seed` unless a
    local state_dict file is given (nothing is downloaded)."""
    import torch
    import torchvision
    torch.manual_seed(seed)
    ctor = getattr(torchvision.models, arch, None)
    if ctor is None:
        raise SystemExit(f'--torchvision {arch}: torchvision {torchvision.__version__} has no such model')
    model = ctor(weights=None)
    if weights:
        state = torch.load(weights, map_location='cpu')
        model.load_state_dict(state.get('state_dict', state) if isinstance(state, dict) else state)
    for attr in ('classifier', 'fc', 'heads', 'head'):
        head = getattr(model, attr, None)
        if head is None:
            continue
        if isinstance(head, torch.nn.Sequential):
            # convnext-style heads keep their norm/flatten: only the last Linear goes.
            last = [i for i, m in enumerate(head) if isinstance(m, torch.nn.Linear)]
            if last:
                head[last[-1]] = torch.nn.Identity()
        else:
            setattr(model, attr, torch.nn.Identity())
        break
    else:
        raise SystemExit(f'--torchvision {arch}: no classifier/fc/heads/head attribute to remove')
    return model.eval()


def _onnx_check(path):
    import onnx
    onnx.checker.check_model(path)


def _ort_parity(path, inputs, output, ref):
    """max |torch - onnxruntime| of normalised rows, or None when the Python onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    got = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run([output], inputs)[0]
    r = ref / np.linalg.norm(ref, axis=-1, keepdims=True)
    g = got / np.linalg.norm(got, axis=-1, keepdims=True)
    return float(np.abs(r - g).max())


def export_package(vision, out, size=None, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize='center-crop',
                   intensity='percentile', name='model', version='1', licence='see the model card', description='',
                   text_embeddings=None, labels=None, logit_scale=100.0, height=None, width=None,
                   fallback='percentile', windows=None, percentiles=(1, 99), text=None):
    """vision: a torch.nn.Module mapping (N, 3, height, width) float32 to (N, dim). Writes image_encoder.onnx
    (opset 17, dynamic batch axis), optional zero-shot head / text encoder, and manifest.json with SHA-256s.
    text: optional dict from export_text_encoder() (its files are already in `out`)."""
    import torch
    height = int(height or size)
    width = int(width or size)
    os.makedirs(out, exist_ok=True)
    vision.eval()
    torch.manual_seed(1234)
    dummy = torch.randn(2, 3, height, width)
    with torch.no_grad():
        ref = vision(dummy)
    if ref.dim() != 2:
        raise SystemExit(f'the vision module returns shape {tuple(ref.shape)}; it must return (batch, dim) — pool or take the CLS token first')
    dim = int(ref.shape[-1])
    encoder = os.path.join(out, 'image_encoder.onnx')
    torch.onnx.export(vision, dummy, encoder, input_names=['pixel_values'], output_names=['embedding'],
                      dynamic_axes={'pixel_values': {0: 'batch'}, 'embedding': {0: 'batch'}}, opset_version=17)
    _onnx_check(encoder)
    d = _ort_parity(encoder, {'pixel_values': dummy.numpy()}, 'embedding', ref.numpy())
    print('image parity: ' + (f'max |torch - onnxruntime| over normalised embeddings = {d:.2e}' if d is not None else
                              'no Python onnxruntime here; check it through lightbox embed (see the docstring)'))
    files = ['image_encoder.onnx']
    manifest = {
        'format': 'lightbox-model/1', 'name': name, 'version': version, 'licence': licence, 'description': description,
        'imageEncoder': {
            'file': 'image_encoder.onnx',
            'input': {'name': 'pixel_values', 'layout': 'NCHW', 'height': height, 'width': width, 'channels': 3,
                      'dtype': 'float32', 'mean': list(map(float, mean)), 'std': list(map(float, std)), 'resize': resize},
            'intensity': {'mode': intensity, 'percentiles': list(percentiles), 'windows': windows or {}, 'fallback': fallback,
                          'invertMonochrome1': True},
            'output': {'name': 'embedding', 'dim': dim, 'l2Normalize': True},
        },
    }
    if text_embeddings is not None:
        t = np.asarray(text_embeddings, dtype='<f4')
        t = t / np.linalg.norm(t, axis=1, keepdims=True)
        t.tofile(os.path.join(out, 'zero_shot.f32'))
        files.append('zero_shot.f32')
        manifest['zeroShot'] = {'file': 'zero_shot.f32', 'labels': labels, 'logitScale': float(logit_scale),
                                'source': f'text encoder of {name}, run once by export-hf-model.py'}
    if text is not None:
        if text['spec']['dim'] != dim:
            raise SystemExit(f"the text tower makes {text['spec']['dim']}-d vectors, the image tower {dim}-d: they must share one space")
        manifest['textEncoder'] = text['spec']
        files += text['files']
    manifest['files'] = {f: sha256(os.path.join(out, f)) for f in files}
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
    print(f'wrote {out}: {dim}-d embeddings, files {files}')
    return manifest


def export_text_encoder(text_tower, out, tokenizer_json, max_length, dim, pooling='none', pad_id=None,
                        attention_mask=True, logit_scale=100.0, projection=None):
    """text_tower: a torch.nn.Module (input_ids int64 [N, L][, attention_mask int64 [N, L]]) -> [N, dim] when
    pooling is 'none', else [N, L, hidden]. tokenizer_json: path of a Hugging Face tokenizer.json (copied into the
    package). projection: optional float32 [hidden, dim] array applied after pooling by the app. Returns the
    textEncoder manifest section and its files, for export_package(text=...)."""
    import shutil
    import torch
    os.makedirs(out, exist_ok=True)
    text_tower.eval()
    ids = torch.randint(1, 10, (2, max_length), dtype=torch.int64)
    mask = torch.ones(2, max_length, dtype=torch.int64)
    args = (ids, mask) if attention_mask else (ids,)
    names = ['input_ids', 'attention_mask'] if attention_mask else ['input_ids']
    path = os.path.join(out, 'text_encoder.onnx')
    axes = {n: {0: 'batch', 1: 'length'} for n in names}
    axes['text_embedding'] = {0: 'batch'} if pooling == 'none' else {0: 'batch', 1: 'length'}
    with torch.no_grad():
        ref = text_tower(*args)
    torch.onnx.export(text_tower, args, path, input_names=names, output_names=['text_embedding'], dynamic_axes=axes,
                      opset_version=17)
    _onnx_check(path)
    d = _ort_parity(path, {n: a.numpy() for n, a in zip(names, args)}, 'text_embedding', ref.numpy())
    print('text parity: ' + (f'max |torch - onnxruntime| = {d:.2e}' if d is not None else 'no Python onnxruntime here; check it through the app'))
    if os.path.abspath(tokenizer_json) != os.path.abspath(os.path.join(out, 'tokenizer.json')):
        shutil.copyfile(tokenizer_json, os.path.join(out, 'tokenizer.json'))
    spec = {'file': 'text_encoder.onnx', 'tokenizer': 'tokenizer.json', 'inputIds': 'input_ids', 'idsDtype': 'int64',
            'output': 'text_embedding', 'maxLength': int(max_length), 'padding': 'max_length', 'truncation': True,
            'pooling': pooling, 'dim': int(dim), 'l2Normalize': True, 'logitScale': float(logit_scale)}
    if attention_mask:
        spec['attentionMask'] = 'attention_mask'
    if pad_id is not None:
        spec['padId'] = int(pad_id)
    files = ['text_encoder.onnx', 'tokenizer.json']
    if projection is not None:
        p = np.asarray(projection, dtype='<f4')
        p.tofile(os.path.join(out, 'text_projection.f32'))
        spec['projection'] = {'file': 'text_projection.f32', 'rows': int(p.shape[0])}
        files.append('text_projection.f32')
    return {'spec': spec, 'files': files}


def main_torchvision(a):
    model = build_torchvision(a.torchvision, a.seed, a.weights)
    weights = f'weights from {a.weights}' if a.weights else f'random weights (seed {a.seed}): for testing only'
    export_package(model, a.out, size=a.size, height=a.height, width=a.width, mean=a.mean or IMAGENET_MEAN,
                   std=a.std or IMAGENET_STD, resize=a.resize or 'center-crop', intensity=a.intensity,
                   fallback=a.fallback, name=a.name or f'torchvision-{a.torchvision}', version='1', licence=a.licence,
                   description=f'torchvision {a.torchvision}, classifier removed, {weights}; exported by scripts/export-hf-model.py')


def main_hf(a):
    import torch
    from transformers import AutoModel, AutoProcessor  # only this path needs transformers
    model = AutoModel.from_pretrained(a.model)
    processor = AutoProcessor.from_pretrained(a.model)
    ip = getattr(processor, 'image_processor', processor)
    size = ip.crop_size['height'] if getattr(ip, 'crop_size', None) else (ip.size.get('shortest_edge') or ip.size['height'])

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            if hasattr(self.m, 'get_image_features'):
                return self.m.get_image_features(pixel_values=x)
            out = self.m(pixel_values=x)
            return out.pooler_output if getattr(out, 'pooler_output', None) is not None else out.last_hidden_state[:, 0]

    text = labels = None
    if a.labels:
        labels = json.load(open(a.labels))
        tok = getattr(processor, 'tokenizer', processor)
        with torch.no_grad():
            enc = tok([l['prompt'] or l['name'] for l in labels], padding=True, return_tensors='pt')
            text = model.get_text_features(**enc).numpy()
    scale = float(model.logit_scale.exp()) if hasattr(model, 'logit_scale') else 100.0
    export_package(Vision(model), a.out, size=a.size or size, height=a.height, width=a.width,
                   mean=a.mean or ip.image_mean, std=a.std or ip.image_std, resize=a.resize or 'center-crop',
                   intensity=a.intensity, fallback=a.fallback, name=a.name or os.path.basename(a.model.rstrip('/')),
                   version='1', licence=a.licence, description=f'exported from {a.model} by scripts/export-hf-model.py',
                   text_embeddings=text, labels=labels, logit_scale=scale)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--torchvision', metavar='ARCH', help='a torchvision model name, e.g. densenet121 (no transformers needed)')
    src.add_argument('--model', help='a Hugging Face id or local dir (needs transformers)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--weights', help='--torchvision: a local state_dict .pt file (default: random weights)')
    ap.add_argument('--random-weights', action='store_true', help='--torchvision: random weights (the default; says so explicitly)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--height', type=int)
    ap.add_argument('--width', type=int)
    ap.add_argument('--mean', type=float, nargs=3)
    ap.add_argument('--std', type=float, nargs=3)
    ap.add_argument('--name')
    ap.add_argument('--labels')
    ap.add_argument('--licence', default='see the model card')
    ap.add_argument('--intensity', default='percentile', choices=['percentile', 'voi-from-file', 'fixed-window', 'minmax'])
    ap.add_argument('--fallback', default='percentile', choices=['percentile', 'minmax'])
    ap.add_argument('--resize', choices=['stretch', 'letterbox', 'center-crop'])
    a = ap.parse_args()
    if a.weights and a.random_weights:
        raise SystemExit('--weights and --random-weights exclude each other')
    if a.torchvision:
        main_torchvision(a)
    else:
        main_hf(a)


if __name__ == '__main__':
    main()
