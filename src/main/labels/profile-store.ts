// The reader's profile, ~/.lightbox/profile.json: who the label events name, and their reading preferences.
// It belongs to the person, not the project, so it lives in the Lightbox home folder and follows them across
// projects. Read on every action: kept in memory, replaced when this store writes it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallParsed, Profile } from '../../shared/contract.ts';

export class ProfileStore {
  private readonly home: string;
  private cached: Profile | null = null;

  constructor(home: string) {
    this.home = home;
  }

  private get file(): string {
    return path.join(this.home, 'profile.json');
  }

  get(): Profile {
    this.cached ??= this.read();
    return this.cached;
  }

  /** Who the events name now. */
  get annotator(): string {
    return this.get().annotator;
  }

  private read(): Profile {
    const user = (() => { try { return os.userInfo().username; } catch { return 'reader'; } })();
    const base: Profile = { annotator: `${user}@${os.hostname()}`, name: user, blinded: false, autoAdvance: true };
    try {
      const p = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<Profile>;
      return {
        annotator: typeof p.annotator === 'string' && p.annotator ? p.annotator : base.annotator,
        name: typeof p.name === 'string' && p.name ? p.name : base.name,
        blinded: typeof p.blinded === 'boolean' ? p.blinded : base.blinded,
        autoAdvance: typeof p.autoAdvance === 'boolean' ? p.autoAdvance : base.autoAdvance,
      };
    } catch {
      // No profile yet (or an unreadable one): the defaults, written on the first change.
      return base;
    }
  }

  /** Applies the fields given; written to a temporary file and renamed, so a crash never leaves half a profile. */
  set(patch: CallParsed<'labels.setProfile'>): Profile {
    const p = { ...this.get(), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as Profile;
    fs.mkdirSync(this.home, { recursive: true });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(p, null, 2)}\n`);
    fs.renameSync(tmp, this.file);
    this.cached = p;
    return p;
  }
}
