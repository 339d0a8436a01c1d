/** "12 s left" / "3 min 4 s left" for a job's ETA; empty when unknown. */
export function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `${Math.ceil(s)} s left`;
  return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s left`;
}

export { formatDicomDate, formatDicomTime, formatPersonName } from '../../../shared/dicom-format.ts';
