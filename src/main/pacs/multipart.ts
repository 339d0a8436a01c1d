// multipart/related (RFC 2046 §5.1, RFC 2387) as WADO-RS answers and STOW-RS requests use it. Our own parser,
// because a PACS is input we do not control: the boundary comes from the Content-Type, every size is bounded, a
// part is handed out only once the delimiter after it has arrived (so a truncated answer never yields a cut part),
// and an answer without its closing delimiter is an error, not a shorter study.
import crypto from 'node:crypto';
import { LightboxError } from '../../shared/contract.ts';

export interface MultipartLimits {
  /** The largest part (one DICOM instance). */
  maxPartBytes: number;
  /** The largest header block of one part. */
  maxHeaderBytes: number;
  /** The most parts one answer may hold. */
  maxParts: number;
  /** Bytes tolerated before the first delimiter. */
  maxPreambleBytes: number;
}

export const DEFAULT_LIMITS: MultipartLimits = {
  maxPartBytes: 2 * 1024 ** 3 - 1,
  maxHeaderBytes: 16 * 1024,
  maxParts: 1_000_000,
  maxPreambleBytes: 64 * 1024,
};

export interface Part {
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

// RFC 2046 bchars: a boundary is 1–70 of these and does not end in a space.
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** The parameters of a Content-Type value (`type/subtype; a=b; c="d;e"`), names in lower case. */
export function contentTypeParams(value: string): { mediaType: string; params: Record<string, string> } {
  const semi = value.indexOf(';');
  const mediaType = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let i = semi < 0 ? value.length : semi + 1;
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === ';')) i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        v += value[i];
        i++;
      }
      i++;
    } else {
      const end = value.indexOf(';', i);
      v = value.slice(i, end < 0 ? value.length : end).trim();
      i = end < 0 ? value.length : end;
    }
    if (name && !(name in params)) params[name] = v;
  }
  return { mediaType, params };
}

/** The boundary of a multipart Content-Type, or a clear error naming what was answered instead. */
export function boundaryOf(contentType: string | null, what: string): string {
  if (!contentType) throw new LightboxError('unavailable', `${what}: the answer has no Content-Type; expected multipart/related`);
  const { mediaType, params } = contentTypeParams(contentType);
  if (mediaType !== 'multipart/related') {
    throw new LightboxError('unavailable', `${what}: expected a multipart/related answer, got "${contentType.slice(0, 100)}"`);
  }
  const b = params.boundary;
  if (b === undefined || !BOUNDARY_RE.test(b)) {
    throw new LightboxError('unavailable', `${what}: the multipart answer's boundary is missing or invalid ("${(b ?? '').slice(0, 80)}")`);
  }
  return b;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  // Folded header lines (obsolete but legal) continue with whitespace.
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'epilogue';

/**
 * Reads the parts of a multipart body as they arrive. Throws a LightboxError ('io') naming `what` when the body
 * breaks a limit, is malformed, or ends before the closing delimiter; the parts yielded before that were whole.
 */
export async function* readMultipart(body: AsyncIterable<Uint8Array>, boundary: string, what: string, limits: MultipartLimits = DEFAULT_LIMITS): AsyncGenerator<Part> {
  // The first delimiter may start the body (no CRLF before it); every later one is CRLF "--" boundary.
  const firstDelim = Buffer.from(`--${boundary}`);
  const delim = Buffer.from(`\r\n--${boundary}`);
  let state: State = 'preamble';
  let pending: Buffer = Buffer.alloc(0);
  let headers: Record<string, string> = {};
  let chunks: Buffer[] = [];
  let partBytes = 0;
  let parts = 0;
  let seen = 0;
  const fail = (why: string): never => {
    throw new LightboxError('unavailable', `${what}: ${why} (after ${parts} complete part${parts === 1 ? '' : 's'}, ${seen} bytes)`);
  };

  for await (const chunk of body) {
    seen += chunk.length;
    if (state === 'epilogue') continue;
    // No copy of a chunk on its own: it is ours once read (neither fetch nor node:http reuses chunk memory).
    const view = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    pending = pending.length ? Buffer.concat([pending, view]) : view;
    for (;;) {
      if (state === 'preamble') {
        // Allow a CRLF-less first delimiter at offset 0, or CRLF-prefixed after a preamble.
        let at = pending.indexOf(firstDelim);
        if (at > 0) {
          const d = pending.indexOf(delim);
          at = d >= 0 ? d + 2 : -1;
        }
        if (at < 0) {
          if (pending.length > limits.maxPreambleBytes) fail('no multipart boundary found at the start of the answer');
          break;
        }
        pending = pending.subarray(at + firstDelim.length);
        state = 'after-delimiter';
        continue;
      }
      if (state === 'after-delimiter') {
        if (pending.length < 2) break;
        if (pending[0] === 0x2d && pending[1] === 0x2d) { state = 'epilogue'; pending = Buffer.alloc(0); break; }
        // Transport padding (spaces, tabs) may sit between the boundary and its CRLF.
        const crlf = pending.indexOf('\r\n');
        if (crlf < 0) {
          if (pending.length > 256) fail('a boundary line is not followed by CRLF');
          break;
        }
        if (!/^[ \t]*$/.test(pending.subarray(0, crlf).toString('latin1'))) fail('unexpected bytes after a boundary');
        pending = pending.subarray(crlf + 2);
        state = 'headers';
        continue;
      }
      if (state === 'headers') {
        // A part with no headers starts with the blank line at once.
        const end = pending.subarray(0, 2).toString('latin1') === '\r\n' ? -2 : pending.indexOf('\r\n\r\n');
        if (end === -1) {
          if (pending.length > limits.maxHeaderBytes) fail(`a part's headers exceed ${limits.maxHeaderBytes} bytes`);
          break;
        }
        const blockEnd = end === -2 ? 0 : end;
        if (blockEnd > limits.maxHeaderBytes) fail(`a part's headers exceed ${limits.maxHeaderBytes} bytes`);
        headers = parseHeaders(pending.subarray(0, blockEnd).toString('latin1'));
        const declared = headers['content-length'];
        if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limits.maxPartBytes) {
          fail(`a part declares ${declared} bytes, more than the limit of ${limits.maxPartBytes}`);
        }
        pending = pending.subarray(end === -2 ? 2 : end + 4);
        chunks = [];
        partBytes = 0;
        state = 'body';
        continue;
      }
      if (state === 'body') {
        const at = pending.indexOf(delim);
        if (at < 0) {
          // Keep only what could be the start of a delimiter; the rest is body.
          const keep = Math.min(pending.length, delim.length - 1);
          const take = pending.length - keep;
          if (take > 0) {
            partBytes += take;
            if (partBytes > limits.maxPartBytes) fail(`a part is larger than the limit of ${limits.maxPartBytes} bytes`);
            chunks.push(pending.subarray(0, take));
            pending = pending.subarray(take);
          }
          break;
        }
        partBytes += at;
        if (partBytes > limits.maxPartBytes) fail(`a part is larger than the limit of ${limits.maxPartBytes} bytes`);
        chunks.push(pending.subarray(0, at));
        pending = pending.subarray(at + delim.length);
        if (++parts > limits.maxParts) fail(`the answer holds more than ${limits.maxParts} parts`);
        const part: Part = { headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, partBytes) };
        chunks = [];
        state = 'after-delimiter';
        yield part;
        continue;
      }
      break;
    }
  }
  if (state !== 'epilogue') {
    fail(state === 'preamble' ? 'the answer is empty or has no multipart boundary' : 'the answer ended before its closing boundary (truncated)');
  }
}

/** A fresh boundary for a request we send. */
export function newBoundary(): string {
  return `lightbox-${crypto.randomBytes(16).toString('hex')}`;
}

/** A multipart/related body of DICOM parts (STOW-RS). */
export function buildMultipart(parts: readonly Buffer[], boundary: string, partType = 'application/dicom'): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}\r\nContent-Type: ${partType}\r\nContent-Length: ${p.length}\r\n\r\n`), p, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}
