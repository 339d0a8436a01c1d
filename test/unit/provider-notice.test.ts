// CPU on a machine with no GPU is normal; a fallback where a GPU exists is a warning with its reason.
import { describe, expect, it } from 'vitest';
import { probeGpu } from '../../src/main/inference/gpu-probe.ts';
import { providerNotice } from '../../src/renderer/src/features/embed/provider-notice.ts';

const FALLBACK = 'cuda unavailable (Failed to load shared library libonnxruntime_providers_cuda.so); using cpu';

describe('the execution provider notice', () => {
  it('is no warning on a machine without a GPU, and keeps the reason in the tooltip', () => {
    const n = providerNotice({ provider: 'cpu', providerFallback: FALLBACK, gpu: 'none' });
    expect(n.warn).toBe(false);
    expect(n.warning).toBe('');
    expect(n.title).toContain('no GPU');
    expect(n.title).toContain(FALLBACK);
  });
  it('warns when a GPU is there (or may be) and its provider failed', () => {
    for (const gpu of ['present', 'unknown'] as const) {
      expect(providerNotice({ provider: 'cpu', providerFallback: FALLBACK, gpu })).toEqual({ warn: true, title: FALLBACK, warning: 'cuda unavailable' });
    }
  });
  it('says nothing when the provider asked for is the one in use', () => {
    expect(providerNotice({ provider: 'cuda', providerFallback: '', gpu: 'present' }).warn).toBe(false);
  });
});

describe('the GPU probe', () => {
  it('finds an NVIDIA driver on Linux by its device nodes, and does not guess elsewhere', () => {
    expect(probeGpu('linux', (p) => p === '/dev/nvidiactl')).toBe('present');
    expect(probeGpu('linux', () => false)).toBe('none');
    expect(probeGpu('win32', () => true)).toBe('unknown');
    expect(probeGpu('darwin', () => false)).toBe('unknown');
  });
});
