// Checks a compressed frame's own headers before any codec sees it: the markers it must have, its frame header
// (SOF / SIZ) against the DICOM header, and its end. A codec handed a damaged stream may fail slowly (CharLS took
// 5–48 s on a JPEG-LS stream cut short), allocate what the stream claims, or return a partial image as if it were
// whole (OpenJPEG and OpenJPH decode truncated codestreams and only warn). Each check returns a reason or null.

/** What the DICOM header says one frame is. */
export interface FrameExpectation {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

const hex = (b: Uint8Array, from: number, n: number): string =>
  Array.from(b.subarray(Math.max(0, from), Math.max(0, from) + n), (x) => x.toString(16).padStart(2, '0')).join(' ') || 'nothing';

/** Where the stream really ends: DICOM pads fragments to an even length, some writers with more zeros. */
function contentEnd(d: Uint8Array): number {
  let end = d.length;
  while (end > 0 && d[end - 1] === 0) end--;
  return end;
}

const u16 = (d: Uint8Array, o: number): number => (d[o]! << 8) | d[o + 1]!;
const u32 = (d: Uint8Array, o: number): number => ((d[o]! << 24) >>> 0) + ((d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!);

function dimensions(what: string, got: { columns: number; rows: number; components: number; bits: number }, f: FrameExpectation): string | null {
  if (got.columns !== f.columns || got.rows !== f.rows) {
    return `${what} is ${got.columns}×${got.rows} but the header says Columns ${f.columns} × Rows ${f.rows}`;
  }
  if (got.components !== f.samplesPerPixel) return `${what} has ${got.components} components but SamplesPerPixel (0028,0002) is ${f.samplesPerPixel}`;
  if (got.bits < 1 || got.bits > f.bitsAllocated) return `${what} has ${got.bits}-bit samples but BitsAllocated (0028,0100) is ${f.bitsAllocated}`;
  return null;
}

// ---- JPEG (ISO 10918) and JPEG-LS (ISO 14495): the same marker syntax ----

const SOF_NAMES: Record<number, string> = {
  0xc0: 'baseline DCT (SOF0)', 0xc1: 'extended DCT (SOF1)', 0xc2: 'progressive DCT (SOF2)', 0xc3: 'lossless (SOF3)',
  0xc5: 'hierarchical DCT (SOF5)', 0xc6: 'hierarchical progressive (SOF6)', 0xc7: 'hierarchical lossless (SOF7)',
  0xc9: 'arithmetic extended (SOF9)', 0xca: 'arithmetic progressive (SOF10)', 0xcb: 'arithmetic lossless (SOF11)',
  0xcd: 'arithmetic hierarchical (SOF13)', 0xce: 'arithmetic hierarchical progressive (SOF14)', 0xcf: 'arithmetic hierarchical lossless (SOF15)',
  0xf7: 'JPEG-LS (SOF55)',
};

/** The frame header processes each JPEG family accepts (what its decoder here implements). */
const ACCEPTED: Record<'baseline' | 'extended' | 'lossless' | 'jpeg-ls', number[]> = {
  baseline: [0xc0, 0xc1, 0xc2],
  extended: [0xc0, 0xc1, 0xc2],
  lossless: [0xc3],
  'jpeg-ls': [0xf7],
};

export type JpegFamily = keyof typeof ACCEPTED;

/**
 * Walks the marker segments from SOI to the first SOS, reads the frame header and checks the stream ends with EOI.
 * `name` is how messages call the stream ("JPEG-LS stream").
 */
export function checkJpegStream(d: Uint8Array, family: JpegFamily, f: FrameExpectation): string | null {
  const name = family === 'jpeg-ls' ? 'JPEG-LS stream' : 'JPEG stream';
  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) return `${name} has no SOI marker (starts with ${hex(d, 0, 4)}; expected ff d8)`;
  let pos = 2;
  let sof: { marker: number; bits: number; rows: number; columns: number; components: number } | null = null;
  for (;;) {
    if (pos >= d.length) return `${name} ends at byte ${d.length} before its start of scan (SOS): the frame is truncated`;
    if (d[pos] !== 0xff) return `${name} has ${hex(d, pos, 2)} at byte ${pos} where a marker should be`;
    while (pos < d.length && d[pos] === 0xff) pos++; // fill bytes
    const marker = d[pos++];
    if (marker === undefined) return `${name} ends inside a marker at byte ${pos}: the frame is truncated`;
    if (marker === 0xd9) return `${name} reaches its EOI marker at byte ${pos - 2} before any scan (SOS)`;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // TEM, RSTn: no length
    if (pos + 2 > d.length) return `${name} ends inside marker ff ${marker.toString(16)} at byte ${pos - 2}: the frame is truncated`;
    const length = u16(d, pos);
    if (length < 2 || pos + length > d.length) {
      return `${name}: marker segment ff ${marker.toString(16)} at byte ${pos - 2} claims ${length} bytes, past the end of the ${d.length}-byte frame`;
    }
    if (marker in SOF_NAMES && sof === null) {
      if (length < 8) return `${name}: its frame header (ff ${marker.toString(16)}) is only ${length} bytes`;
      sof = { marker, bits: d[pos + 2]!, rows: u16(d, pos + 3), columns: u16(d, pos + 5), components: d[pos + 7]! };
    }
    if (marker === 0xda) {
      pos += length;
      break;
    }
    pos += length;
  }
  if (!sof) return `${name} has no frame header (SOF) before its scan`;
  if (!ACCEPTED[family].includes(sof.marker)) {
    return `${name} is ${SOF_NAMES[sof.marker]}, which its transfer syntax does not allow and the ${family} decoder does not implement`;
  }
  if (sof.rows === 0) return `${name} leaves its height to a DNL marker, which the decoders here do not support; transcode the file`;
  if (family === 'baseline' && sof.bits !== 8) return `${name} has ${sof.bits}-bit samples; baseline JPEG has 8`;
  const wrong = dimensions(`${name} frame header`, sof, f);
  if (wrong) return wrong;
  let end = contentEnd(d);
  // Fragments are padded to an even length; some writers pad after EOI with ff instead of 00 (pydicom's
  // JPEG-lossy.dcm, GE): that is still a complete stream.
  if (end >= 3 && d[end - 1] === 0xff && d[end - 2] === 0xd9 && d[end - 3] === 0xff) end--;
  if (end < pos + 3 || d[end - 2] !== 0xff || d[end - 1] !== 0xd9) {
    return `${name} ends without an EOI marker (last bytes ${hex(d, end - 4, 4)}): the frame is truncated or damaged`;
  }
  return null;
}

/** What a JPEG stream says about its samples: precision, the JFIF and Adobe (APP14) markers and component ids. */
export interface JpegColourMarkers { precision: number; jfif: boolean; adobeTransform: number | null; componentIds: number[] }

export function jpegColourMarkers(d: Uint8Array): JpegColourMarkers {
  const out: JpegColourMarkers = { precision: 0, jfif: false, adobeTransform: null, componentIds: [] };
  let pos = 2;
  while (pos + 4 <= d.length && d[pos] === 0xff) {
    while (pos < d.length && d[pos] === 0xff) pos++;
    const marker = d[pos++]!;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || pos + 2 > d.length) break;
    const length = u16(d, pos);
    const body = d.subarray(pos + 2, Math.min(d.length, pos + length));
    if (marker === 0xe0 && body.length >= 5 && String.fromCharCode(...body.subarray(0, 4)) === 'JFIF' && body[4] === 0) out.jfif = true;
    if (marker === 0xee && body.length >= 12 && String.fromCharCode(...body.subarray(0, 5)) === 'Adobe') out.adobeTransform = body[11]!;
    if (marker in SOF_NAMES && out.componentIds.length === 0 && body.length >= 6) {
      out.precision = body[0]!;
      const n = body[5]!;
      for (let k = 0; k < n && 6 + 3 * k < body.length; k++) out.componentIds.push(body[6 + 3 * k]!);
    }
    if (marker === 0xda) break;
    pos += length;
  }
  return out;
}

/**
 * Whether a 3-component JPEG stream holds YCbCr (true) or untransformed RGB (false). The markers decide when they
 * say (Adobe's transform flag, JFIF, component ids 'R','G','B' or 1,2,3); otherwise the Photometric Interpretation
 * does, as PS3.5 8.2.1 has it describe the compressed stream (pydicom's SC_jpeg_no_color_transform.dcm: RGB, no
 * markers, ids 0,1,2 — libjpeg's guess of YCbCr draws it magenta).
 */
export function jpegHoldsYcc(m: JpegColourMarkers, photometric: string): boolean {
  if (m.adobeTransform !== null) return m.adobeTransform !== 0;
  if (m.jfif) return true;
  const ids = m.componentIds.join(',');
  if (ids === '82,71,66') return false;
  if (ids === '1,2,3') return true;
  return photometric.startsWith('YBR');
}

/** What libjpeg assumes for the same stream (and so what the decoder did): it converts unless told RGB. */
export function libjpegAssumesYcc(m: JpegColourMarkers): boolean {
  if (m.adobeTransform !== null) return m.adobeTransform !== 0;
  if (m.jfif) return true;
  return m.componentIds.join(',') !== '82,71,66';
}

// ---- JPEG 2000 and HTJ2K (ISO 15444-1 / -15 codestreams, or a JP2 file around one) ----

/** The contiguous codestream of a JP2 file (its jp2c box), or the data itself when it is a bare codestream. */
function codestreamOf(d: Uint8Array): Uint8Array | string {
  const jp2 = d.length >= 12 && u32(d, 0) === 12 && u32(d, 4) === 0x6a502020;
  if (!jp2) return d;
  let pos = 0;
  while (pos + 8 <= d.length) {
    let length = u32(d, pos);
    const type = u32(d, pos + 4);
    let header = 8;
    if (length === 1) {
      if (pos + 16 > d.length) break;
      length = u32(d, pos + 8) * 2 ** 32 + u32(d, pos + 12);
      header = 16;
    } else if (length === 0) {
      length = d.length - pos;
    }
    if (length < header) return `JP2 box at byte ${pos} claims ${length} bytes`;
    if (type === 0x6a703263) return d.subarray(pos + header, Math.min(d.length, pos + length)); // 'jp2c'
    pos += length;
  }
  return 'JP2 file has no contiguous codestream box (jp2c)';
}

/**
 * Checks SOC and SIZ (image and tile sizes, components, precision, subsampling) against the header, and that the
 * codestream ends with EOC: a JPEG 2000 decoder returns a partial, blurred image for a truncated one and only warns.
 */
export function checkJ2kCodestream(d: Uint8Array, what: 'JPEG 2000' | 'HTJ2K', f: FrameExpectation): string | null {
  const cs = codestreamOf(d);
  if (typeof cs === 'string') return cs;
  const name = `${what} codestream`;
  if (cs.length < 2 || cs[0] !== 0xff || cs[1] !== 0x4f) return `${name} has no SOC marker (starts with ${hex(cs, 0, 4)}; expected ff 4f)`;
  if (cs[2] !== 0xff || cs[3] !== 0x51) return `${name} has no SIZ marker after SOC (found ${hex(cs, 2, 2)}; expected ff 51)`;
  if (cs.length < 6) return `${name} ends inside its SIZ segment: the frame is truncated`;
  const lsiz = u16(cs, 4);
  if (lsiz < 41 || 4 + lsiz > cs.length) return `${name}: its SIZ segment claims ${lsiz} bytes (the frame has ${cs.length})`;
  const xsiz = u32(cs, 8);
  const ysiz = u32(cs, 12);
  const x0 = u32(cs, 16);
  const y0 = u32(cs, 20);
  const xt = u32(cs, 24);
  const yt = u32(cs, 28);
  const xt0 = u32(cs, 32);
  const yt0 = u32(cs, 36);
  const components = u16(cs, 40);
  if (lsiz !== 38 + 3 * components) return `${name}: its SIZ segment is ${lsiz} bytes for ${components} components (expected ${38 + 3 * components})`;
  if (x0 >= xsiz || y0 >= ysiz) return `${name}: its image offset ${x0},${y0} lies outside its ${xsiz}×${ysiz} reference grid`;
  if (xt === 0 || yt === 0 || xt0 > x0 || yt0 > y0) return `${name}: its tiles (${xt}×${yt} from ${xt0},${yt0}) do not cover the image`;
  const tiles = Math.ceil((xsiz - xt0) / xt) * Math.ceil((ysiz - yt0) / yt);
  if (tiles > 65535) return `${name} has ${tiles} tiles; a codestream may have at most 65535`;
  if (what === 'JPEG 2000' && (x0 !== 0 || y0 !== 0)) {
    // The OpenJPEG wrapper reports the reference grid's extent as the image size, so an offset image would come out
    // shifted into a wrong-sized buffer (https://github.com/cornerstonejs/codecs/pull/63).
    return `${name} has an image offset (${x0},${y0}), which the OpenJPEG build here decodes wrongly; transcode the file with gdcmconv --raw`;
  }
  let bits = 0;
  for (let c = 0; c < components; c++) {
    const ssiz = cs[42 + 3 * c]!;
    const dx = cs[43 + 3 * c]!;
    const dy = cs[44 + 3 * c]!;
    if (dx !== 1 || dy !== 1) {
      // Subsampled components overrun the wrapper's buffers (https://github.com/cornerstonejs/codecs/issues/69).
      return `${name}: component ${c + 1} is subsampled ${dx}×${dy}, which the ${what} decoder here does not handle; transcode the file`;
    }
    const b = (ssiz & 0x7f) + 1;
    if (c > 0 && b !== bits) return `${name}: component ${c + 1} has ${b}-bit samples, component 1 has ${bits}`;
    bits = b;
  }
  const wrong = dimensions(`${name} (SIZ)`, { columns: xsiz - x0, rows: ysiz - y0, components, bits }, f);
  if (wrong) return wrong;
  const end = contentEnd(cs);
  if (cs[end - 2] !== 0xff || cs[end - 1] !== 0xd9) {
    return `${name} does not end with an EOC marker (last bytes ${hex(cs, end - 4, 4)}): the frame is truncated or damaged and would decode blurred or partial`;
  }
  return null;
}
