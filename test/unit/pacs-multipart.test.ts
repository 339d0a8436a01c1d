// The multipart/related parser that reads WADO-RS answers: whole parts only, boundaries from the Content-Type,
// every size bounded, and a truncated or malformed answer is an error that names what was read.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { boundaryOf, buildMultipart, contentTypeParams, readMultipart } from '../../src/main/pacs/multipart.ts';
import type { MultipartLimits } from '../../src/main/pacs/multipart.ts';

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(buf: Buffer, boundary: string, size = 7, limits?: MultipartLimits): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of readMultipart(chunked(buf, size), boundary, 'test', limits)) out.push(p.body);
  return out;
}

describe('multipart/related', () => {
  const parts = [crypto.randomBytes(1000), Buffer.alloc(0), crypto.randomBytes(70_000), Buffer.from('\r\n--almost the boundary\r\n')];
  const boundary = 'b-123';
  const body = buildMultipart(parts, boundary);

  it('reads back every part exactly, whatever the chunk size', async () => {
    for (const size of [1, 3, 7, 64, 65_536, body.length]) {
      const got = await collect(body, boundary, size);
      expect(got.map((b) => b.toString('hex'))).toEqual(parts.map((b) => b.toString('hex')));
    }
  });

  it('takes the boundary from the Content-Type, quoted or not, and refuses others', () => {
    expect(boundaryOf('multipart/related; type="application/dicom"; boundary="a b=c:d"', 'x')).toBe('a b=c:d');
    expect(boundaryOf('Multipart/Related;boundary=abc;type=application/dicom', 'x')).toBe('abc');
    expect(contentTypeParams('multipart/related; type="application/dicom"; transfer-syntax=*').params['transfer-syntax']).toBe('*');
    expect(() => boundaryOf('application/json', 'wado')).toThrow(/wado: expected a multipart\/related answer, got "application\/json"/);
    expect(() => boundaryOf('multipart/related; type=application/dicom', 'wado')).toThrow(/boundary is missing or invalid/);
    expect(() => boundaryOf(`multipart/related; boundary=${'x'.repeat(71)}`, 'wado')).toThrow(/boundary is missing or invalid/);
    expect(() => boundaryOf(null, 'wado')).toThrow(/no Content-Type/);
  });

  it('skips a preamble and an epilogue, and reads part headers', async () => {
    const withPre = Buffer.concat([Buffer.from('preamble text\r\n'), body, Buffer.from('epilogue')]);
    expect(await collect(withPre, boundary)).toHaveLength(parts.length);
    const hs: Record<string, string>[] = [];
    for await (const p of readMultipart(chunked(body, 5), boundary, 't')) hs.push(p.headers);
    expect(hs[0]).toEqual({ 'content-type': 'application/dicom', 'content-length': '1000' });
  });

  it('fails on a truncated answer, yielding only the parts before the cut', async () => {
    // Cut inside the third part: the first two came whole, the third must not come out at all.
    const cut = body.subarray(0, body.indexOf(parts[2]!) + 500);
    const got: Buffer[] = [];
    await expect((async () => { for await (const p of readMultipart(chunked(cut, 100), boundary, 'WADO-RS series 1.2')) got.push(p.body); })())
      .rejects.toThrow(/WADO-RS series 1\.2: the answer ended before its closing boundary \(truncated\) \(after 2 complete parts/);
    expect(got).toHaveLength(2);
    // Cut right after a part's delimiter, before the closing "--".
    const last = body.subarray(0, body.length - 4);
    await expect(collect(last, boundary)).rejects.toThrow(/truncated/);
    await expect(collect(Buffer.alloc(0), boundary)).rejects.toThrow(/empty or has no multipart boundary/);
  });

  it('enforces its limits', async () => {
    const limits: MultipartLimits = { maxPartBytes: 10_000, maxHeaderBytes: 200, maxParts: 3, maxPreambleBytes: 100 };
    const undeclared = Buffer.from(body.toString('latin1').replace(/Content-Length: \d+\r\n/g, ''), 'latin1');
    await expect(collect(undeclared, boundary, 1000, limits)).rejects.toThrow(/a part is larger than the limit of 10000 bytes/);
    const small = buildMultipart([Buffer.from('a'), Buffer.from('b'), Buffer.from('c'), Buffer.from('d')], boundary);
    await expect(collect(small, boundary, 3, limits)).rejects.toThrow(/more than 3 parts/);
    const bigHeader = Buffer.from(`--${boundary}\r\nX-Junk: ${'y'.repeat(500)}\r\n\r\nbody\r\n--${boundary}--`);
    await expect(collect(bigHeader, boundary, 50, limits)).rejects.toThrow(/headers exceed 200 bytes/);
    const declared = Buffer.from(`--${boundary}\r\nContent-Length: 99999999\r\n\r\nbody\r\n--${boundary}--`);
    await expect(collect(declared, boundary, 50, limits)).rejects.toThrow(/declares 99999999 bytes/);
    await expect(collect(Buffer.alloc(5000, 0x41), boundary, 50, limits)).rejects.toThrow(/no multipart boundary found/);
    const junk = Buffer.from(`--${boundary}junk\r\n\r\nbody\r\n--${boundary}--`);
    await expect(collect(junk, boundary)).rejects.toThrow(/unexpected bytes after a boundary/);
  });
});
