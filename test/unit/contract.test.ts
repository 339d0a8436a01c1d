import { describe, expect, it } from 'vitest';
import { calls, parseCall } from '../../src/shared/contract.ts';

describe('contract validation at the main edge', () => {
  it('rejects unknown calls', () => {
    expect(parseCall('fs.readFile', {})).toEqual({ ok: false, error: { code: 'unknown-call', message: 'unknown call "fs.readFile"' } });
    expect(parseCall('__proto__', {}).ok).toBe(false);
  });
  it('names the bad field', () => {
    const r = parseCall('study.get', { studyId: 'x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/studyId/);
  });
  it('rejects fields the contract does not declare', () => {
    expect(parseCall('instance.tags', { instanceId: 1, path: '/etc/passwd' }).ok).toBe(false);
  });
  it('takes a missing input as {}, but null or a non-object as a bad request (issue 16)', () => {
    expect(parseCall('project.info', undefined).ok).toBe(true);
    for (const input of [null, [], 0, 'x', true]) {
      const r = parseCall('project.info', input);
      expect(r.ok, JSON.stringify(input)).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('bad-request');
    }
    expect(parseCall('worklist.query', null).ok).toBe(false);
  });
  it('fills defaults', () => {
    const r = parseCall('worklist.query', {});
    expect(r.ok && (r.input as { limit: number }).limit).toBe(200);
  });
  it('declares an input and a result schema for every call', () => {
    for (const [name, c] of Object.entries(calls)) {
      expect(c.input, name).toBeDefined();
      expect(c.result, name).toBeDefined();
    }
  });
});
