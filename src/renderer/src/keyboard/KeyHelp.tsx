// The keyboard help, generated from the keymap table: one section per context, each binding's keys and what
// they do. Views add what only they know (the labelling view: the schema's label shortcuts).
import { KEY_CONTEXTS, bindingsOf, keyLabel } from '../../../shared/keymap.ts';
import type { KeyContext } from '../../../shared/keymap.ts';

export function KeyHelp({ contexts }: { contexts: readonly KeyContext[] }) {
  return (
    <>
      {contexts.map((c) => {
        const info: { title: string; note?: string } = KEY_CONTEXTS[c];
        return (
          <section key={c} data-testid="key-help" data-context={c}>
            <h3>{info.title}</h3>
            <table className="keys">
              <tbody>
                {bindingsOf(c).map((b) => (
                  <tr key={b.command} data-command={b.command}>
                    <td>{b.dynamic !== undefined ? <span className="dim">{b.dynamic}</span> : b.keys.map((k) => <kbd key={k}>{keyLabel(k)}</kbd>)}</td>
                    <td>{b.label}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {info.note && <div className="dim">{info.note}</div>}
          </section>
        );
      })}
    </>
  );
}
