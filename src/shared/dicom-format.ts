// DICOM values written for people (names, dates, times): shared by main (documents) and the renderer.

/**
 * A DICOM person name (PN) as people write it: "Family, Given Middle" (with prefix and suffix: "Family, Dr Given,
 * Jr"). PN is `family^given^middle^prefix^suffix`, and `=` separates alphabetic, ideographic and phonetic forms;
 * the first form present is shown. A name with only one part is shown as it is.
 */
export function formatPersonName(pn: string): string {
  const group = pn.split('=').map((g) => g.trim()).find((g) => g.replace(/\^/g, '').trim() !== '') ?? '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^').map((p) => p.trim());
  const rest = [prefix, given, middle].filter(Boolean).join(' ');
  const name = family && rest ? `${family}, ${rest}` : family || rest;
  return suffix ? `${name}, ${suffix}` : name;
}

/** A DICOM date (DA, YYYYMMDD) as ISO 8601, 2023-12-29; anything else is shown as it is. */
export function formatDicomDate(da: string): string {
  const d = da.trim();
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}

/** A DICOM time (TM, HHMMSS.FFFFFF, parts optional) as 14:30 or 14:30:15; anything else is shown as it is. */
export function formatDicomTime(tm: string): string {
  const m = /^(\d{2})(\d{2})?(\d{2})?(\.\d+)?$/.exec(tm.trim());
  if (!m) return tm.trim();
  return [m[1], m[2] ?? '00', m[3]].filter((x) => x !== undefined).join(':');
}
