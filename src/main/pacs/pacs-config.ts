// The configured PACS servers, kept in the Lightbox home (`pacs-servers.json`, readable by the user only), never in a
// project database: a project folder may be shared or exported, credentials must not travel with it. Nothing here
// logs or returns a secret; views carry the auth type and user name only.
import fs from 'node:fs';
import path from 'node:path';
import { LightboxError } from '../../shared/contract.ts';
import { PacsServer } from '../../shared/pacs-contract.ts';
import type { PacsServerView } from '../../shared/pacs-contract.ts';
import { z } from 'zod';

const FILE = 'pacs-servers.json';

export class PacsConfigStore {
  readonly file: string;

  constructor(home: string) {
    this.file = path.join(home, FILE);
  }

  list(): PacsServer[] {
    let raw: string;
    try {
      raw = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new LightboxError('bad-request', `pacs: ${this.file} is not valid JSON; fix or delete it and configure the servers again`);
    }
    const r = z.array(PacsServer).safeParse(parsed);
    if (!r.success) throw new LightboxError('bad-request', `pacs: ${this.file} does not hold a list of servers (${r.error.issues[0]?.message ?? 'invalid'}); fix or delete it`);
    return r.data;
  }

  get(name: string): PacsServer {
    const s = this.list().find((x) => x.name === name);
    if (!s) throw new LightboxError('not-found', `pacs: no server named "${name}"; add it with pacs.configure (lightbox pacs add)`);
    return s;
  }

  save(server: PacsServer): void {
    this.write([...this.list().filter((s) => s.name !== server.name), server]);
  }

  remove(name: string): void {
    const all = this.list();
    if (!all.some((s) => s.name === name)) throw new LightboxError('not-found', `pacs: no server named "${name}"`);
    this.write(all.filter((s) => s.name !== name));
  }

  views(): PacsServerView[] {
    return this.list().map(viewOf);
  }

  private write(servers: PacsServer[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    // 0600 from creation: the file holds passwords and tokens.
    fs.writeFileSync(tmp, JSON.stringify(servers, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    fs.chmodSync(this.file, 0o600);
  }
}

export function viewOf(s: PacsServer): PacsServerView {
  const w = s.dicomweb;
  const d = s.dimse;
  return {
    name: s.name,
    dicomweb: w ? { url: w.url, auth: w.auth.type, username: w.auth.type === 'basic' ? w.auth.username : null, timeoutSeconds: w.timeoutSeconds } : null,
    dimse: d ? { host: d.host, port: d.port, calledAet: d.calledAet, callingAet: d.callingAet, receivePort: d.receivePort } : null,
  };
}
