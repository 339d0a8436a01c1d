// The renderer's only way to main: typed calls and events from the shared contract, over whichever host served
// this page (Electron's preload bridge, or the loopback HTTP/WebSocket host). Never file paths, never raw IPC.
import { channels } from '../../../shared/contract.ts';
import type { CallInput, CallName, CallResponse, CallResult, EventName, EventPayload } from '../../../shared/contract.ts';

type AnyEvent = (name: EventName, payload: unknown) => void;

/** What the Electron preload exposes on window.lightbox (see src/preload). */
export interface PreloadBridge {
  call(name: string, input: unknown): Promise<CallResponse<unknown>>;
  onEvent(listener: AnyEvent): () => void;
  pickFolder(title: string): Promise<string | null>;
  pickFile(title: string): Promise<string | null>;
  host: 'electron';
}

declare global {
  interface Window { lightbox?: PreloadBridge }
}

export class ApiCallError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

interface Transport {
  host: 'electron' | 'browser';
  call(name: string, input: unknown): Promise<CallResponse<unknown>>;
  subscribe(listener: AnyEvent): () => void;
  /** Where one frame (1-based) of an instance is served, decoded by main. */
  frameUrl(instanceId: number, frame: number): string;
}

function browserTransport(): Transport {
  const listeners = new Set<AnyEvent>();
  let socket: WebSocket | null = null;
  const connect = (): void => {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${proto}//${location.host}${channels.httpEvents}`);
    socket.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { event: EventName; payload: unknown };
      for (const l of listeners) l(msg.event, msg.payload);
    };
    socket.onclose = () => { socket = null; setTimeout(connect, 1000); };
  };
  return {
    host: 'browser',
    async call(name, input) {
      const res = await fetch(`${channels.httpCallPrefix}${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input ?? {}),
        credentials: 'same-origin',
      });
      return (await res.json()) as CallResponse<unknown>;
    },
    subscribe(listener) {
      if (!socket) connect();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    frameUrl: (id, frame) => `${location.origin}${channels.httpInstancePrefix}${id}/frames/${frame}`,
  };
}

function electronTransport(bridge: PreloadBridge): Transport {
  return {
    host: 'electron',
    call: (name, input) => bridge.call(name, input),
    subscribe: (listener) => bridge.onEvent(listener),
    frameUrl: (id, frame) => `${channels.imageScheme}://instance/${id}/frames/${frame}`,
  };
}

const transport: Transport = window.lightbox ? electronTransport(window.lightbox) : browserTransport();

export const api = {
  host: transport.host,
  /** The host's native folder dialog where it has one (Electron); the browser host uses FolderBrowser instead. */
  nativePickFolder: window.lightbox ? (title: string): Promise<string | null> => window.lightbox!.pickFolder(title) : null,
  nativePickFile: window.lightbox ? (title: string): Promise<string | null> => window.lightbox!.pickFile(title) : null,
  async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallResult<N>> {
    const r = await transport.call(name, input);
    if (!r.ok) throw new ApiCallError(r.error.code, r.error.message);
    return r.result as CallResult<N>;
  },
  on<N extends EventName>(name: N, listener: (payload: EventPayload<N>) => void): () => void {
    return transport.subscribe((n, p) => { if (n === name) listener(p as EventPayload<N>); });
  },
  /**
   * Cornerstone image id for one frame (1-based) of an indexed instance. Main decodes the frame (the same decoder
   * the model's input comes from) and sends it uncompressed, so Cornerstone never decodes a source file itself.
   */
  imageId(instanceId: number, frame = 1): string {
    return `wadouri:${transport.frameUrl(instanceId, frame)}`;
  },
};
