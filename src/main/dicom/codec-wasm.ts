// The codec libraries' WASM and JS builds as used in main: loading them once, one fresh decoder per frame, and
// turning what they throw or print into a reason. pixels.ts decides which codec a frame needs and checks the result.
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Named so it does not collide with the `require` shim electron-vite adds to ESM bundles.
const nodeRequire = createRequire(import.meta.url);

interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  /** Frees the decoder's WASM memory (embind objects are not garbage collected). */
  delete(): void;
}
interface CodecModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  /** Only some builds export it (CharLS does); it reads a thrown C++ exception's what(). */
  getExceptionMessage?: (ptr: number) => string | [string, string];
  [className: string]: unknown;
}
type Factory = (opts: Record<string, unknown>) => Promise<CodecModule>;

interface Codec {
  module: CodecModule;
  /** What the library printed during the current decode (OpenJPEG and OpenJPH report failures only there). */
  log: string[];
}

const codecs = new Map<string, Promise<Codec>>();

function codecModule(pkg: string): Promise<Codec> {
  let c = codecs.get(pkg);
  if (!c) {
    const factory = nodeRequire(pkg) as Factory | { default: Factory };
    const make = typeof factory === 'function' ? factory : factory.default;
    const log: string[] = [];
    // Emscripten prints through these; OpenJPEG writes [INFO] lines that must not reach the CLI's JSON on stdout.
    const note = (line: string): void => {
      if (log.length < 50) log.push(String(line));
    };
    c = make({ print: note, printErr: note }).then((module) => ({ module, log }));
    codecs.set(pkg, c);
  }
  return c;
}

/**
 * What a throw out of a codec means. CharLS's build exports getExceptionMessage; the libjpeg-turbo wrapper throws
 * C string literals (`throw("reading header")`), so the thrown pointer addresses a char pointer; anything else is
 * an exception object without a message, or a WebAssembly trap.
 */
function thrownReason(m: CodecModule, e: unknown): string {
  if (typeof e === 'number') {
    if (m.getExceptionMessage) {
      try {
        const msg = m.getExceptionMessage(e);
        return (Array.isArray(msg) ? msg[1] || msg[0] : msg).trim();
      } catch {
        // fall through: not an exception object after all
      }
    }
    const p = m.HEAPU32[e >>> 2];
    if (p !== undefined && p > 0 && p < m.HEAPU8.length) {
      let end = p;
      while (end < m.HEAPU8.length && end - p < 200 && m.HEAPU8[end]! >= 0x20 && m.HEAPU8[end]! < 0x7f) end++;
      if (end > p && (m.HEAPU8[end] === 0 || m.HEAPU8[end] === 0x0a)) return Buffer.from(m.HEAPU8.subarray(p, end)).toString('latin1').replace(/^[^A-Za-z0-9]+/, '').trim();
    }
    return `a C++ exception without a message (at WASM address ${e})`;
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Lines a codec printed that report a failure rather than progress. */
const failureLines = (log: string[]): string[] => log.filter((l) => /\[ERROR\]|error|decode failed/i.test(l)).map((l) => l.trim());

/**
 * One frame through a fresh decoder. A decoder instance keeps its frame info and output buffer between calls, and
 * OpenJPEG's returns without an error when it fails, so a reused one handed a damaged frame reported the previous
 * frame as decoded (the same holds for OpenJPH, see https://github.com/cornerstonejs/codecs/pull/76). A decoder
 * that throws or traps may leave its module's heap in an unknown state, so the module is loaded again next time.
 */
export async function decodeWithWasm(pkg: string, className: string, rejected: string, failed: string, data: Uint8Array, fail: (why: string) => Error): Promise<{ info: ReturnType<WasmDecoder['getFrameInfo']>; bytes: Uint8Array<ArrayBuffer> }> {
  const codec = await codecModule(pkg);
  const C = codec.module[className] as (new () => WasmDecoder) | undefined;
  if (!C) throw new Error(`${pkg} has no ${className}`);
  const decoder = new C();
  codec.log.length = 0;
  try {
    decoder.getEncodedBuffer(data.length).set(data);
    try {
      decoder.decode();
    } catch (e) {
      codecs.delete(pkg);
      const printed = failureLines(codec.log);
      throw fail(`${rejected}: ${thrownReason(codec.module, e)}${printed.length ? ` (${printed.join('; ')})` : ''}`);
    }
    const printed = failureLines(codec.log);
    if (printed.length) throw fail(`${failed}: ${printed.join('; ')}`);
    // Copied out before the decoder (and the heap view) goes.
    return { info: { ...decoder.getFrameInfo() }, bytes: decoder.getDecodedBuffer().slice() };
  } finally {
    decoder.delete();
  }
}

interface JpegImageLike {
  parse(data: Uint8Array): void;
  colorTransform: boolean;
  getData(w: number, h: number): Uint8Array;
  getData16(w: number, h: number): Uint16Array;
}
let jpegImage: Promise<new () => JpegImageLike> | undefined;
/** The 12-bit JPEG decoder the viewer's loader uses for 1.2.840.10008.1.2.4.51 (not in the package's exports map). */
export function jpegImageClass(): Promise<new () => JpegImageLike> {
  jpegImage ??= (async () => {
    const dir = path.dirname(nodeRequire.resolve('@cornerstonejs/dicom-image-loader/package.json'));
    const mod = (await import(pathToFileURL(path.join(dir, 'dist/esm/codecs/jpeg.js')).href)) as { default: new () => JpegImageLike };
    return mod.default;
  })();
  return jpegImage;
}

interface LosslessDecoder { decode(buf: ArrayBuffer, offset: number, length: number, bytesPerSample: number): ArrayBufferView }
let lossless: Promise<new () => LosslessDecoder> | undefined;
export function losslessClass(): Promise<new () => LosslessDecoder> {
  lossless ??= import('@cornerstonejs/jpeg-lossless-decoder-js').then((m) => (m as unknown as { Decoder: new () => LosslessDecoder }).Decoder);
  return lossless;
}
