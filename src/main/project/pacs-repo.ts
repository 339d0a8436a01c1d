// What the PACS retrieve asks of the index: which SOP Instance UIDs the project already holds (so they are not
// fetched again), and whether a study it indexed arrived whole.
import type Database from 'better-sqlite3';

const CHUNK = 500;

export class PacsRepository {
  private readonly db: Database.Database;
  constructor(db: Database.Database) {
    this.db = db;
  }

  /** The subset of `sopUids` that is indexed in the project. */
  indexedSops(sopUids: readonly string[]): Set<string> {
    const found = new Set<string>();
    for (let i = 0; i < sopUids.length; i += CHUNK) {
      const chunk = sopUids.slice(i, i + CHUNK);
      const rows = this.db.prepare(`SELECT sop_uid FROM instances WHERE sop_uid IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as { sop_uid: string }[];
      for (const r of rows) found.add(r.sop_uid);
    }
    return found;
  }
}
