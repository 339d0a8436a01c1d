// The sandboxed renderer's bridge: actions built from the shared contract, never raw ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import { channels } from '../shared/contract.ts';
import type { CallResponse, EventName } from '../shared/contract.ts';

const bridge = {
  host: 'electron' as const,
  call: (name: string, input: unknown): Promise<CallResponse<unknown>> => ipcRenderer.invoke(channels.ipcCall, name, input),
  /** The native dialogs: the path the user chose (main grants it for this session), or null. */
  pickFolder: (title: string): Promise<string | null> => ipcRenderer.invoke(channels.ipcPickPath, 'folder', title),
  pickFile: (title: string): Promise<string | null> => ipcRenderer.invoke(channels.ipcPickPath, 'file', title),
  onEvent(listener: (name: EventName, payload: unknown) => void): () => void {
    const handler = (_e: Electron.IpcRendererEvent, name: EventName, payload: unknown): void => listener(name, payload);
    ipcRenderer.on(channels.ipcEvent, handler);
    return () => { ipcRenderer.removeListener(channels.ipcEvent, handler); };
  },
};

contextBridge.exposeInMainWorld('lightbox', bridge);
