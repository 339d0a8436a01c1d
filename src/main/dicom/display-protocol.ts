// The display worker's protocol (see inference/worker-rpc.ts): one frame of a file in, the DICOM the viewer draws out.
export interface DisplayProtocol {
  frame: { request: { file: string; frame: number }; reply: Uint8Array };
}
