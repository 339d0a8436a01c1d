// What the top bar says about the execution provider. A fallback to CPU on a machine with no GPU at all is the
// normal state, not a warning; a fallback where a GPU exists (or might) is one, with the reason to act on.
import type { EmbedStatusView } from '../../../../shared/contract.ts';

export interface ProviderNotice {
  /** Show the chip as a warning and the short warning next to it. */
  warn: boolean;
  /** The chip's tooltip: always carries the reason when there was a fallback. */
  title: string;
  /** The short warning text ('' when none). */
  warning: string;
}

export function providerNotice(s: Pick<EmbedStatusView, 'provider' | 'providerFallback' | 'gpu'>): ProviderNotice {
  if (!s.providerFallback) return { warn: false, title: 'execution provider', warning: '' };
  if (s.provider === 'cpu' && s.gpu === 'none') {
    return { warn: false, title: `This machine has no GPU, so embedding runs on the CPU.\n${s.providerFallback}`, warning: '' };
  }
  return { warn: true, title: s.providerFallback, warning: s.providerFallback.split(' (')[0] ?? s.providerFallback };
}
