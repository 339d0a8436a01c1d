// The reader-study part of the hash routes: #/readers (studies and readers), #/readers/<id>/<page>.
export const READER_PAGES = ['read', 'adjudicate', 'agreement', 'compare', 'errors'] as const;
export type ReaderPage = (typeof READER_PAGES)[number];

export type ReaderRoute = { view: 'readers'; study: null } | { view: 'readers'; study: number; page: ReaderPage };

/** `parts` after 'readers': [id, page]; anything unknown is the list of studies. */
export function parseReaderRoute(id: string | undefined, page: string | undefined): ReaderRoute {
  const study = id !== undefined && /^[1-9]\d{0,15}$/.test(id) ? Number(id) : null;
  const p = (READER_PAGES as readonly string[]).includes(page ?? '') ? (page as ReaderPage) : null;
  return study !== null && p !== null ? { view: 'readers', study, page: p } : { view: 'readers', study: null };
}

export function formatReaderRoute(r: ReaderRoute): string {
  return r.study === null ? '#/readers' : `#/readers/${r.study}/${r.page}`;
}
