#!/usr/bin/env python3
"""A small CLIP-style two-tower model, built here with random weights (seeded), for the bring-up test.

  /usr/bin/python3 test/python/clip_tiny.py export --out <package dir> [--seed 0]
  /usr/bin/python3 test/python/clip_tiny.py text --out ref.json --texts "a pleural effusion" ... [--seed 0]

Image tower: a 3-layer CNN (64x64 RGB in, 64-d out). Text tower: CLIP's recipe in miniature: a BPE tokenizer
(trained here on a few radiology captions, lower-cased, split on whitespace/punctuation, `</w>` end-of-word
suffix, <|startoftext|> ... <|endoftext|>, context length 77, padded with <pad>), token + position embeddings, two
pre-norm transformer blocks with a causal mask, a final LayerNorm; the app pools at the end-of-text token and applies
text_projection (a separate float32 file, the manifest's textEncoder.projection), as CLIP does.

The `text` command computes the reference text embeddings with PyTorch and a BPE tokenizer written here (not the
@huggingface/tokenizers library the app uses), so a tokenizer, pooling or projection bug in the app fails the test.
"""
import argparse
import collections
import importlib.util
import json
import math
import os
import re

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DIM = 64
WIDTH = 48
CONTEXT = 77
SPECIALS = ['<pad>', '<|startoftext|>', '<|endoftext|>', '<unk>']
PAD, SOT, EOT, UNK = range(4)
CORPUS = [
    'a chest radiograph showing an enlarged heart', 'cardiomegaly', 'a pleural effusion', 'fluid in the pleural space',
    'a lung nodule', 'a pulmonary nodule in the right upper lobe', 'no acute cardiopulmonary abnormality',
    'normal heart size and clear lungs', 'blunting of the left costophrenic angle', 'a ct slice of the lungs',
    'consolidation in the left lower lobe', 'pneumothorax', 'the heart is enlarged', 'bilateral pleural effusions',
]
LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial logit_scale; the manifest carries exp() of it


def words(text):
    return re.findall(r'\w+|[^\w\s]+', text.lower())


def word_symbols(w):
    return list(w[:-1]) + [w[-1] + '</w>']


def train_bpe(corpus, merges=120):
    freq = collections.Counter(w for t in corpus for w in words(t))
    split = {w: word_symbols(w) for w in freq}
    chars = sorted({c for w in freq for c in w} | set('abcdefghijklmnopqrstuvwxyz0123456789.,:;-'))
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for c in chars:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + '</w>', len(vocab))
    out = []
    for _ in range(merges):
        pairs = collections.Counter()
        for w, s in split.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += freq[w]
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], tuple(-ord(ch) for ch in kv[0][0] + ' ' + kv[0][1])))[0]
        out.append(best)
        vocab.setdefault(best[0] + best[1], len(vocab))
        for w, s in split.items():
            i, m = 0, []
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    m.append(s[i] + s[i + 1])
                    i += 2
                else:
                    m.append(s[i])
                    i += 1
            split[w] = m
    return vocab, out


def tokenizer_json(vocab, merges):
    special = lambda t: {'id': vocab[t], 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
    st = lambda t: {'SpecialToken': {'id': t, 'type_id': 0}}
    return {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [special(t) for t in SPECIALS],
        'normalizer': {'type': 'Lowercase'},
        'pre_tokenizer': {'type': 'Whitespace'},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [st('<|startoftext|>'), {'Sequence': {'id': 'A', 'type_id': 0}}, st('<|endoftext|>')],
            'pair': [st('<|startoftext|>'), {'Sequence': {'id': 'A', 'type_id': 0}}, st('<|endoftext|>'), {'Sequence': {'id': 'B', 'type_id': 0}}, st('<|endoftext|>')],
            'special_tokens': {t: {'id': t, 'ids': [vocab[t]], 'tokens': [t]} for t in ('<|startoftext|>', '<|endoftext|>')},
        },
        'decoder': {'type': 'BPEDecoder', 'suffix': '</w>'},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None,
                  'end_of_word_suffix': '</w>', 'fuse_unk': False, 'byte_fallback': False, 'vocab': vocab,
                  'merges': [f'{a} {b}' for a, b in merges]},
    }


def tokenize(text, vocab, merges):
    """The reference BPE: each word's symbols, merged by lowest merge rank first, then the special tokens."""
    rank = {m: i for i, m in enumerate(merges)}
    ids = [SOT]
    for w in words(text):
        s = word_symbols(w)
        while len(s) > 1:
            pairs = [(rank.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(s, s[1:]))]
            r, i = min(pairs)
            if r == math.inf:
                break
            s = s[:i] + [s[i] + s[i + 1]] + s[i + 2:]
        ids += [vocab.get(t, UNK) for t in s]
    ids = ids[:CONTEXT - 1] + [EOT]
    return ids


class Block(torch.nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(width)
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.proj = torch.nn.Linear(width, width)
        self.ln2 = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(width, 4 * width), torch.nn.GELU(), torch.nn.Linear(4 * width, width))

    def forward(self, x, mask):
        n, l, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(n, l, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(w // self.heads) + mask, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(n, l, w))
        return x + self.mlp(self.ln2(x))


class TextTower(torch.nn.Module):
    """input_ids [N, L] int64 -> hidden states [N, L, WIDTH] (pooling and projection are the app's, per the manifest)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab_size, WIDTH)
        self.pos = torch.nn.Parameter(torch.randn(CONTEXT, WIDTH) * 0.1)
        self.blocks = torch.nn.ModuleList([Block(WIDTH, 4) for _ in range(2)])
        self.ln = torch.nn.LayerNorm(WIDTH)

    def forward(self, input_ids):
        l = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:l]
        mask = torch.triu(torch.ones(l, l), diagonal=1) * -1e9  # causal, as CLIP's text transformer
        for b in self.blocks:
            x = b(x, mask)
        return self.ln(x)


def image_tower(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 48, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(48, DIM)).eval()


def text_side(seed=0):
    vocab, merges = train_bpe(CORPUS)
    torch.manual_seed(seed + 1)
    tower = TextTower(len(vocab)).eval()
    projection = (torch.randn(WIDTH, DIM) / math.sqrt(WIDTH)).numpy().astype(np.float32)
    return vocab, merges, tower, projection


def exporter():
    spec = importlib.util.spec_from_file_location('export_hf_model', os.path.join(HERE, '..', '..', 'scripts', 'export-hf-model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['export', 'text'])
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--texts', nargs='*', default=[])
    a = ap.parse_args()
    vocab, merges, tower, projection = text_side(a.seed)
    if a.command == 'export':
        ex = exporter()
        os.makedirs(a.out, exist_ok=True)
        tok = os.path.join(a.out, 'tokenizer.json')
        with open(tok, 'w') as f:
            json.dump(tokenizer_json(vocab, merges), f)
        text = ex.export_text_encoder(tower, a.out, tok, CONTEXT, DIM, pooling='eot', pad_id=PAD, attention_mask=False,
                                      logit_scale=math.exp(LOGIT_SCALE), projection=projection)
        ex.export_package(image_tower(a.seed), a.out, size=64, resize='stretch', intensity='voi-from-file', fallback='minmax',
                          name='clip-tiny', licence='test model (random weights)',
                          description=f'a small CLIP-style two-tower with random weights (seed {a.seed}), built by test/python/clip_tiny.py',
                          text=text)
        return
    rows = []
    with torch.no_grad():
        for t in a.texts:
            ids = tokenize(t, vocab, merges)
            padded = torch.tensor([ids + [PAD] * (CONTEXT - len(ids))], dtype=torch.int64)
            h = tower(padded)[0, len(ids) - 1].double().numpy()  # end-of-text pooling
            v = h @ projection.astype(np.float64)
            rows.append({'text': t, 'ids': ids, 'embedding': (v / np.linalg.norm(v)).tolist()})
    json.dump({'texts': rows, 'logitScale': math.exp(LOGIT_SCALE)}, open(a.out, 'w'))


if __name__ == '__main__':
    main()
