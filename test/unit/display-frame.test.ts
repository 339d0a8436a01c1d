// The frames the viewer draws: decoded in worker threads off the API thread, with a time limit per frame. A frame
// over the limit is stopped (its worker ended), answered with an error naming the file, and the next frame decodes
// on a fresh worker.
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { DisplayDecoder } from '../../src/main/dicom/display-decoder.ts';
import { realWorldFiles } from '../real-world.ts';

const decoders: DisplayDecoder[] = [];
afterAll(async () => { await Promise.all(decoders.map((d) => d.close())); });
const file = (name: string): string => realWorldFiles().find((f) => path.basename(f) === name)!;

describe('display decoding in workers', () => {
  it('answers an uncompressed single-frame DICOM with the decoded pixels and the original geometry', async () => {
    const d = new DisplayDecoder(1);
    decoders.push(d);
    const out = await d.frame(file('693_J2KI.dcm'), 1);
    const ds = dicomParser.parseDicom(new Uint8Array(out));
    expect(ds.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(ds.uint16('x00280010')).toBe(512);
    expect(ds.string('x00281052')).toBeDefined();
    expect(ds.elements.x7fe00010!.length).toBe(512 * 512 * 2);
  });

  it('stops a frame that takes longer than the limit, says which file, and decodes the next one on a new worker', async () => {
    const slow = new DisplayDecoder(1, 1);
    decoders.push(slow);
    await expect(slow.frame(file('693_J2KI.dcm'), 1)).rejects.toThrow(/693_J2KI\.dcm frame 1: decoding took longer than 0 s and was stopped/);
    // The same decoder after the stop: its next frame runs on a fresh worker.
    slow.timeoutMs = 30_000;
    expect((await slow.frame(file('MR_small.dcm'), 1)).length).toBeGreaterThan(8192);
  });

  it('names the file and frame of a frame it cannot decode, and keeps working', async () => {
    const d = new DisplayDecoder(1);
    decoders.push(d);
    await expect(d.frame(file('JPEG2000-embedded-sequence-delimiter.dcm'), 1)).rejects.toThrow(/JPEG2000-embedded-sequence-delimiter\.dcm frame 1: /);
    await expect(d.frame(file('MR_small.dcm'), 2)).rejects.toThrow(/frame 2 is outside 1\.\.1/);
    expect((await d.frame(file('MR_small.dcm'), 1)).length).toBeGreaterThan(8192);
  });
});
