// A non-image series read as documents: each object's kind and key attributes, and a structured report's content
// tree as indented text (relationship, value type, concept, value), as a reader would read the report.
import { useEffect, useState } from 'react';
import type { DocumentView as Doc, SeriesRow } from '../../../../shared/contract.ts';
import { api } from '../../api/client.ts';

const MAX_SHOWN = 20;

function OneDocument({ instanceId }: { instanceId: number }) {
  const [doc, setDoc] = useState<Doc | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setDoc(null);
    setError(null);
    api.call('instance.document', { instanceId }).then(setDoc, (e: Error) => setError(e.message));
  }, [instanceId]);
  if (error) return <article className="document" data-testid="document"><p className="err">{error}</p></article>;
  if (!doc) return <article className="document" data-testid="document"><p className="dim">Reading…</p></article>;
  return (
    <article className="document" data-testid="document" data-report={doc.isReport}>
      <h2 data-testid="document-title">{doc.title}</h2>
      <table className="document-attributes">
        <tbody>{doc.attributes.map((a, i) => <tr key={i}><th>{a.name}</th><td>{a.value}</td></tr>)}</tbody>
      </table>
      {doc.content.length > 0 && (
        <ol className="sr-tree" data-testid="sr-tree">
          {doc.content.map((n, i) => (
            <li key={i} style={{ paddingLeft: `${n.depth * 1.4}em` }} data-testid="sr-node" data-depth={n.depth} data-value-type={n.valueType}>
              {n.relationship && <span className="dim">{n.relationship} </span>}
              <span className="vt">{n.valueType}</span>
              {n.concept && <> <strong>{n.concept}</strong></>}
              {n.value && <> = <span className="sr-value">{n.value}</span></>}
            </li>
          ))}
        </ol>
      )}
      {doc.truncated && <p className="warn">The report is longer than what is shown here (5000 items).</p>}
    </article>
  );
}

export function DocumentSeries({ series }: { series: SeriesRow }) {
  const shown = series.instances.slice(0, MAX_SHOWN);
  return (
    <div className="documents" data-testid="documents">
      {shown.map((i) => <OneDocument key={i.id} instanceId={i.id} />)}
      {series.instances.length > MAX_SHOWN && <p className="dim">{series.instances.length - MAX_SHOWN} more objects in this series are not shown.</p>}
      {series.instances.length === 0 && <p className="dim">This series holds no objects.</p>}
    </div>
  );
}
