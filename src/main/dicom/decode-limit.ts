// How long decoding one frame may take before it is stopped, for the viewer's frames and the model's input alike.
// A codec cannot be interrupted, so a stop ends the worker thread it runs in and a fresh worker takes the next one.

/** The default limit per frame, in milliseconds. */
export const DECODE_TIMEOUT_MS = 30_000;

/** The limit in force: LIGHTBOX_DECODE_TIMEOUT_MS overrides the default (tests, very slow machines). */
export function decodeTimeoutMs(): number {
  const v = Number(process.env.LIGHTBOX_DECODE_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : DECODE_TIMEOUT_MS;
}

/** What a stopped decode says, naming the file and frame (1-based). */
export function decodeStoppedReason(file: string, frame: number, limitMs: number): string {
  return `decode: ${file} frame ${frame}: decoding took longer than ${Math.round(limitMs / 100) / 10} s and was stopped; the file may be damaged or built to stall a decoder`;
}
