import { useCallback, useEffect, useState } from 'react';
import type { ProjectInfo } from '../../shared/contract.ts';
import { api } from './api/client.ts';
import { EmbedBar } from './features/embed/EmbedBar.tsx';
import { ExportDialog } from './features/export/ExportDialog.tsx';
import { ImportPanel } from './features/import/ImportPanel.tsx';
import { LabelView } from './features/labelling/LabelView.tsx';
import { MapView } from './features/map/MapView.tsx';
import { ModelsPanel } from './features/models/ModelsPanel.tsx';
import { PacsPanel } from './features/pacs/PacsPanel.tsx';
import { ProjectsDialog } from './features/projects/ProjectsDialog.tsx';
import { TextSearchPanel } from './features/search/TextSearchPanel.tsx';
import { ReaderSwitch } from './features/readers/ReaderSwitch.tsx';
import { ReadersView } from './features/readers/ReadersView.tsx';
import { StudyView } from './features/viewer/StudyView.tsx';
import { Worklist } from './features/worklist/Worklist.tsx';
import { formatRoute, parseRoute } from './routes.ts';
import type { Route } from './routes.ts';

/** The route in the location hash, and a way to go somewhere (a new history entry, or `replace` the current one). */
function useRoute(): [Route, (r: Route, replace?: boolean) => void] {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const go = useCallback((r: Route, replace = false) => {
    const hash = formatRoute(r);
    if (hash === (location.hash || '#/')) return;
    if (replace) {
      history.replaceState(history.state, '', hash);
      setRoute(parseRoute(hash));
    } else location.hash = hash;
  }, []);
  return [route, go];
}

export function App() {
  const [info, setInfo] = useState<ProjectInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [route, go] = useRoute();
  const labelling = route.view === 'label';
  const openStudy = useCallback((studyId: number) => go({ view: 'study', studyId }), [go]);
  const toWorklist = useCallback(() => go({ view: 'worklist' }), [go]);
  // Moving through the queue rewrites the link in place: Back leaves the labelling view rather than replaying it.
  const onLabelItem = useCallback((item: { level: 'study' | 'series' | 'image'; itemId: number }) => go({ view: 'label', item }, true), [go]);
  const [showImport, setShowImport] = useState(false);
  const [showExport, setShowExport] = useState(false);
  const [showProjects, setShowProjects] = useState(false);
  const [showSearch, setShowSearch] = useState(false);
  const [showPacs, setShowPacs] = useState(false);
  const [showModels, setShowModels] = useState(false);
  const [version, setVersion] = useState(0);

  const refresh = useCallback(() => {
    api.call('project.info', {}).then(setInfo, (e: Error) => setError(e.message));
    setVersion((v) => v + 1);
  }, []);
  useEffect(refresh, [refresh]);
  // Another project now behind this host: start over on it (every view's state belonged to the old one).
  useEffect(() => api.on('project.changed', (p) => { if (p.reason === 'switched') { location.hash = ''; location.reload(); } else refresh(); }), [refresh]);

  return (
    <div className="app">
      <header className="topbar">
        <button className="brand" onClick={toWorklist} title="Back to the worklist">Lightbox</button>
        {info && (
          <span className="project" data-testid="project-summary" title={`${info.dir}\n${info.name} · ${info.patients} patients · ${info.studies} studies · ${info.series} series · ${info.instances} instances`}>
            {info.name} · {info.patients} patients · {info.studies} studies · {info.series} series · {info.instances} instances
            {info.rejectedFiles > 0 && <> · <button className="link warn" onClick={() => setShowImport(true)}>{info.rejectedFiles} rejected</button></>}
          </span>
        )}
        <span className="spacer" />
        <EmbedBar />
        <button onClick={() => go(labelling ? { view: 'worklist' } : { view: 'label', item: null })} aria-pressed={labelling} data-testid="open-label" title="Label studies with suggestions, from the keyboard">
          {labelling ? 'Worklist' : 'Label'}
        </button>
        <button onClick={() => setShowSearch((v) => !v)} aria-pressed={showSearch} data-testid="open-text-search" title="Find images by what they show, in words (the model's text encoder)">Search</button>
        <ReaderSwitch onOpen={() => go({ view: 'readers', study: null })} />
        <button onClick={() => go(route.view === 'map' ? { view: 'worklist' } : { view: 'map' })} aria-pressed={route.view === 'map'} data-testid="open-map" title="The embedding map: every image as a point, coloured by label, model or DICOM attribute">Map</button>
        <button onClick={() => setShowModels(true)} data-testid="open-models" title="Installed models, the project's active model, and how each does on your labels">Models…</button>
        <button onClick={() => setShowProjects(true)} data-testid="open-projects" title="Open, create or switch projects">Projects…</button>
        <button onClick={() => setShowImport(true)} data-testid="open-import" title="Import a folder of DICOM files (subfolders included)">Import…</button>
        <button onClick={() => setShowPacs(true)} data-testid="open-pacs" title="Browse a PACS and retrieve studies into this project">PACS…</button>
        <button onClick={() => setShowExport(true)} data-testid="open-export" title="Export the curated labels (CSV, JSONL, DICOM SR) with a manifest">Export…</button>
      </header>
      {error && <div className="banner error">{error}</div>}
      {info?.interruptedImport && (
        <div className="banner">
          An import of {info.interruptedImport.root} was interrupted.{' '}
          <button onClick={() => { void api.call('import.start', { folder: info.interruptedImport!.root }).then(() => setShowImport(true)); }}>Resume</button>
        </div>
      )}
      <main className="content">
        {route.view === 'readers'
          ? <ReadersView route={route} go={go} />
          : route.view === 'study'
          ? <StudyView key={route.studyId} studyId={route.studyId} onClose={toWorklist} onOpenStudy={openStudy} />
          : route.view === 'map'
            ? <MapView onOpenStudy={openStudy} />
          : route.view === 'label'
            ? <LabelView onOpenStudy={openStudy} openItem={route.item} onItem={onLabelItem} />
            : <Worklist version={version} onOpen={openStudy} />}
        {showSearch && <TextSearchPanel onOpenStudy={openStudy} onClose={() => setShowSearch(false)} />}
      </main>
      {showProjects && <ProjectsDialog info={info} onClose={() => setShowProjects(false)} />}
      {showModels && <ModelsPanel onClose={() => { setShowModels(false); refresh(); }} />}
      {showExport && <ExportDialog onClose={() => setShowExport(false)} />}
      {showPacs && <PacsPanel onClose={() => { setShowPacs(false); refresh(); }} />}
      {showImport && <ImportPanel onClose={() => { setShowImport(false); refresh(); }} />}
      <footer className="footer">
        <span>For research use only. Not a medical device; not for diagnosis.</span>
        <span className="host" title="How this window talks to Lightbox">{api.host === 'electron' ? 'desktop app' : 'browser host (127.0.0.1)'}</span>
      </footer>
    </div>
  );
}
