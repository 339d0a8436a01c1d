// What importing one file comes to: indexed, rejected with a reason, or not DICOM. Runs in the header workers
// (header-worker.ts), never on the thread that answers the API.
import type { FileOutcome, FileStat } from '../project/project-store.ts';
import { readHeader } from './read-header.ts';

export function outcomeFor(file: FileStat): FileOutcome {
  let h: ReturnType<typeof readHeader>;
  try {
    h = readHeader(file.path);
  } catch (e) {
    // A bug or an unforeseen malformation must not stop the import: the file is rejected with the reason.
    h = { kind: 'rejected', reason: `could not be read: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (h.kind === 'dicom') return { ...file, status: 'imported', record: h.record };
  if (h.kind === 'rejected') return { ...file, status: 'rejected', reason: h.reason };
  return { ...file, status: 'not-dicom' };
}
