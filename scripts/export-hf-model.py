#!/usr/bin/env python3
"""Export a Hugging Face / PyTorch image(-text) model to a Lightbox model package (optional tool).

  pip install torch transformers onnx onnxruntime numpy   # on a machine with internet, once
  python3 scripts/export-hf-model.py --model <hf id or local dir> --out <package dir> \
      [--labels labels.json] [--licence "MIT"] [--intensity percentile|voi-from-file|minmax]

Works for CLIP-style models loadable with transformers' AutoModel that offer get_image_features (and, for a
zero-shot head, get_text_features), and for vision-only encoders (RAD-DINO style: the pooled output, or the CLS
token of last_hidden_state, is the embedding). MedImageInsight and BiomedCLIP ship their own loaders: load the
model in Python yourself and pass its vision tower to export_package() below.

labels.json, optional: [{"name": "cardiomegaly", "prompt": "a chest radiograph showing an enlarged heart"}, ...].
The text encoder runs once here; the package then carries the text embeddings as its zero-shot head.

Parity check: after export, the same random batch goes through PyTorch and onnxruntime and the largest absolute
difference of the (normalised) embeddings is printed; it should be below 1e-4 for float32. Then, in Lightbox,
`lightbox embed --project <dir> --model <package dir> --provider cpu --json` must embed the demo project, and
comparing a few stored vectors (vectors.npy) with PyTorch on the same files, preprocessed the same way, checks
the preprocessing as well.
"""
import argparse
import hashlib
import json
import os

import numpy as np


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def export_package(vision, out, size, mean, std, resize, intensity, name, version, licence, description,
                   text_embeddings=None, labels=None, logit_scale=100.0):
    """vision: a torch.nn.Module mapping (N, 3, size, size) float32 to (N, dim)."""
    import torch
    os.makedirs(out, exist_ok=True)
    vision.eval()
    dummy = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ref = vision(dummy)
    dim = int(ref.shape[-1])
    encoder = os.path.join(out, 'image_encoder.onnx')
    torch.onnx.export(vision, dummy, encoder, input_names=['pixel_values'], output_names=['embedding'],
                      dynamic_axes={'pixel_values': {0: 'batch'}, 'embedding': {0: 'batch'}}, opset_version=17)
    import onnxruntime as ort
    got = ort.InferenceSession(encoder, providers=['CPUExecutionProvider']).run(['embedding'], {'pixel_values': dummy.numpy()})[0]
    r = ref.numpy() / np.linalg.norm(ref.numpy(), axis=1, keepdims=True)
    g = got / np.linalg.norm(got, axis=1, keepdims=True)
    print(f'parity: max |torch - onnxruntime| over normalised embeddings = {np.abs(r - g).max():.2e}')
    files = ['image_encoder.onnx']
    manifest = {
        'format': 'lightbox-model/1', 'name': name, 'version': version, 'licence': licence, 'description': description,
        'imageEncoder': {
            'file': 'image_encoder.onnx',
            'input': {'name': 'pixel_values', 'layout': 'NCHW', 'height': size, 'width': size, 'channels': 3,
                      'dtype': 'float32', 'mean': list(map(float, mean)), 'std': list(map(float, std)), 'resize': resize},
            'intensity': {'mode': intensity, 'percentiles': [1, 99], 'windows': {}, 'fallback': 'percentile', 'invertMonochrome1': True},
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
    manifest['files'] = {f: sha256(os.path.join(out, f)) for f in files}
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
    print(f'wrote {out}: {dim}-d embeddings, files {files}')


def main():
    import torch
    from transformers import AutoModel, AutoProcessor
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--labels')
    ap.add_argument('--licence', default='see the model card')
    ap.add_argument('--intensity', default='percentile', choices=['percentile', 'voi-from-file', 'minmax'])
    ap.add_argument('--resize', default='center-crop', choices=['stretch', 'letterbox', 'center-crop'])
    a = ap.parse_args()
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
    export_package(Vision(model), a.out, size, ip.image_mean, ip.image_std, a.resize, a.intensity,
                   name=os.path.basename(a.model.rstrip('/')), version='1', licence=a.licence,
                   description=f'exported from {a.model} by scripts/export-hf-model.py', text_embeddings=text,
                   labels=labels, logit_scale=scale)


if __name__ == '__main__':
    main()
