// Reading an embedding store from another thread: the snapshot the suggestion worker loads sees only the rows the
// header counts and never writes, so an append in progress (vectors on disk, header not yet rewritten) is left whole.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddingStore } from '../../src/main/inference/embedding-store.ts';
import { tempDir } from '../helpers.ts';

const meta = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ level: 'image' as const, sopUid: `1.${from + i}`, seriesUid: '1', studyUid: '1', frame: 0, itemId: from + i }));

describe('EmbeddingStore.readSnapshot', () => {
  it('reads every counted row, and leaves rows past the header on disk untouched', () => {
    const dir = tempDir();
    const s = EmbeddingStore.open(dir, 4);
    s.append(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]), meta(0, 3));
    // An append caught between writing its vectors and rewriting the header.
    const file = path.join(dir, 'vectors.npy');
    fs.appendFileSync(file, Buffer.from(new Float32Array([0, 0, 0, 1]).buffer));
    const size = fs.statSync(file).size;
    const snap = EmbeddingStore.readSnapshot(dir, 4);
    expect(snap.count).toBe(3);
    expect(Array.from(snap.vectors)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    expect(fs.statSync(file).size).toBe(size);
    expect(Array.from(s.loadAll())).toEqual(Array.from(snap.vectors));
  });

  it('refuses a store of another dimension, naming the file and the fix', () => {
    const dir = tempDir();
    EmbeddingStore.open(dir, 4).append(new Float32Array(4), meta(0, 1));
    expect(() => EmbeddingStore.readSnapshot(dir, 8)).toThrow(/vectors\.npy: holds 4-d vectors, the model makes 8-d; remove the folder to rebuild it/);
  });
});
