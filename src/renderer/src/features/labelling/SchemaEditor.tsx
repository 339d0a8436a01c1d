// The label schema editor: groups (single-choice or multi-label, the level they apply to) and their labels (key,
// name, zero-shot prompt, shortcut, parent for a hierarchy). Main validates on save and names the field at fault;
// the schema also imports from and exports to JSON.
import { Fragment, useRef, useState } from 'react';
import type { LabelSchema } from '../../../../shared/contract.ts';
import { LEVELS } from '../../../../shared/label-schema.ts';
import type { LabelDef, LabelGroup } from '../../../../shared/label-schema.ts';
import { api } from '../../api/client.ts';
import { PromptAlternatives, PromptAucCell } from './PromptAucCell.tsx';

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'label';

export function SchemaEditor({ schema, onClose, onSaved }: { schema: LabelSchema; onClose: () => void; onSaved: () => void }) {
  const [draft, setDraft] = useState<LabelSchema>(() => structuredClone(schema));
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  /** The label whose alternative prompts are open ("group index:label index"). */
  const [trying, setTrying] = useState<string | null>(null);
  const file = useRef<HTMLInputElement>(null);

  const setGroup = (gi: number, patch: Partial<LabelGroup>): void =>
    setDraft((d) => ({ ...d, groups: d.groups.map((g, i) => (i === gi ? { ...g, ...patch } : g)) }));
  const setLabel = (gi: number, li: number, patch: Partial<LabelDef>): void =>
    setGroup(gi, { labels: draft.groups[gi]!.labels.map((l, i) => (i === li ? Object.fromEntries(Object.entries({ ...l, ...patch }).filter(([, v]) => v !== '' && v !== undefined)) as LabelDef : l)) });
  const addGroup = (): void => setDraft((d) => ({
    ...d,
    groups: [...d.groups, { key: `group-${d.groups.length + 1}`, name: `Group ${d.groups.length + 1}`, kind: 'single', level: 'study', description: '', labels: [{ key: 'label-1', name: 'Label 1', prompt: '' }] }],
  }));
  const addLabel = (gi: number): void => {
    const g = draft.groups[gi]!;
    setGroup(gi, { labels: [...g.labels, { key: `label-${g.labels.length + 1}`, name: `Label ${g.labels.length + 1}`, prompt: '' }] });
  };

  const save = (): void => {
    setSaving(true);
    setError(null);
    api.call('labels.setSchema', { schema: draft }).then(() => { setSaving(false); onSaved(); onClose(); }, (e: Error) => { setSaving(false); setError(e.message); });
  };
  const exportJson = (): void => {
    const blob = new Blob([`${JSON.stringify(draft, null, 2)}\n`], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'label-schema.json';
    a.click();
    URL.revokeObjectURL(a.href);
  };
  const importJson = (f: File): void => {
    f.text().then((t) => {
      try {
        const parsed = JSON.parse(t) as LabelSchema;
        if (!parsed || !Array.isArray(parsed.groups)) throw new Error('it has no "groups" list');
        setDraft(parsed);
        setError(null);
      } catch (e) {
        setError(`${f.name} is not a label schema: ${(e as Error).message}`);
      }
    }, (e: Error) => setError(e.message));
  };

  return (
    <div className="modal-backdrop">
      <div className="modal schema-editor" data-testid="schema-editor">
        <h2>Label schema</h2>
        <p className="dim">Single-choice groups take one label per item, multi-label groups any number. A label with a parent implies it (choosing Effusion also sets Abnormal). The prompt drives zero-shot suggestions (several, separated by |, are averaged; AUC shows how well it separates the labels accepted so far); the shortcut sets the label in the labelling view.</p>
        {error && <div className="banner error" data-testid="schema-error">{error}</div>}
        {draft.groups.map((g, gi) => (
          <fieldset key={gi} className="schema-group" data-testid="schema-group">
            <div className="row">
              <input value={g.name} onChange={(e) => setGroup(gi, { name: e.target.value })} placeholder="Group name" aria-label="Group name" data-testid="group-name" />
              <input value={g.key} onChange={(e) => setGroup(gi, { key: slug(e.target.value) })} placeholder="key" aria-label="Group key" className="key" />
              <select value={g.kind} onChange={(e) => setGroup(gi, { kind: e.target.value as LabelGroup['kind'] })} aria-label="Kind">
                <option value="single">single-choice</option><option value="multi">multi-label</option>
              </select>
              <select value={g.level} onChange={(e) => setGroup(gi, { level: e.target.value as LabelGroup['level'] })} aria-label="Level">
                {LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}
              </select>
              <button onClick={() => setDraft((d) => ({ ...d, groups: d.groups.filter((_, i) => i !== gi) }))} title="Remove this group">Remove</button>
            </div>
            <table>
              <thead><tr><th>Name</th><th>Key</th><th>Zero-shot prompt</th><th title="ROC AUC of the prompt against the labels accepted so far (saved labels only)">AUC</th><th>Key</th><th>Parent</th><th /></tr></thead>
              <tbody>
                {g.labels.map((l, li) => {
                  const saved = schema.groups.some((sg) => sg.key === g.key && sg.labels.some((sl) => sl.key === l.key));
                  return (
                  <Fragment key={li}>
                  <tr data-testid="schema-label">
                    <td><input value={l.name} onChange={(e) => setLabel(gi, li, { name: e.target.value })} aria-label="Label name" data-testid="label-name" /></td>
                    <td><input className="key" value={l.key} onChange={(e) => setLabel(gi, li, { key: slug(e.target.value) })} aria-label="Label key" /></td>
                    <td><input value={l.prompt} onChange={(e) => setLabel(gi, li, { prompt: e.target.value })} aria-label="Prompt" data-testid="label-prompt" /></td>
                    <PromptAucCell group={g.key} label={l.key} prompt={l.prompt} saved={saved} />
                    <td><input className="shortcut" maxLength={1} value={l.shortcut ?? ''} onChange={(e) => setLabel(gi, li, { shortcut: e.target.value.toLowerCase() })} aria-label="Shortcut" data-testid="label-shortcut" /></td>
                    <td>
                      <select value={l.parent ?? ''} onChange={(e) => setLabel(gi, li, { parent: e.target.value })} aria-label="Parent">
                        <option value="">—</option>
                        {g.labels.filter((x) => x.key !== l.key).map((x) => <option key={x.key} value={x.key}>{x.name}</option>)}
                      </select>
                    </td>
                    <td className="nowrap">
                      {saved && <button onClick={() => setTrying(trying === `${gi}:${li}` ? null : `${gi}:${li}`)} aria-pressed={trying === `${gi}:${li}`} title="Compare other wordings of this prompt by their AUC" data-testid="try-prompts">Try…</button>}
                      <button onClick={() => setGroup(gi, { labels: g.labels.filter((_, i) => i !== li) })} title="Remove this label">×</button>
                    </td>
                  </tr>
                  {trying === `${gi}:${li}` && (
                    <tr><td colSpan={7}><PromptAlternatives group={g.key} label={l.key} prompt={l.prompt} onUse={(p) => setLabel(gi, li, { prompt: p })} /></td></tr>
                  )}
                  </Fragment>
                  );
                })}
              </tbody>
            </table>
            <button onClick={() => addLabel(gi)} data-testid="add-label">Add label</button>
          </fieldset>
        ))}
        <div className="row">
          <button onClick={addGroup} data-testid="add-group">Add group</button>
          <span className="spacer" />
          <input ref={file} type="file" accept="application/json,.json" style={{ display: 'none' }} onChange={(e) => { const f = e.target.files?.[0]; if (f) importJson(f); e.target.value = ''; }} data-testid="schema-file" />
          <button onClick={() => file.current?.click()}>Import JSON…</button>
          <button onClick={exportJson}>Export JSON</button>
        </div>
        <div className="row end">
          <button onClick={onClose}>Cancel</button>
          <button onClick={save} disabled={saving} data-testid="save-schema">{saving ? 'Saving…' : 'Save schema'}</button>
        </div>
      </div>
    </div>
  );
}
