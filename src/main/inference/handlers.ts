// Embedding calls: parsed input in, the contract's result out.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { EmbedService } from './embed-service.ts';
import { probeGpu } from './gpu-probe.ts';

export function embedHandlers(embeddings: EmbedService): AreaHandlers<'embed'> {
  return {
    'embed.status': async () => ({ ...(await embeddings.status()), gpu: probeGpu() }),
    'embed.start': async (input) => ({ jobId: (await embeddings.start(input)).jobId }),
    'embed.pause': ({ jobId }) => ({ ok: embeddings.pause(jobId) }),
    'embed.resume': ({ jobId }) => ({ ok: embeddings.resume(jobId) }),
    'embed.cancel': ({ jobId }) => ({ ok: embeddings.cancel(jobId) }),
    'embed.failures': ({ limit }) => embeddings.failures(limit),
    'embed.pixels': async ({ width, height, channels, data, neighbours }) => {
      const r = await embeddings.embedPixels({ width, height, channels, data: Buffer.from(data, 'base64') }, neighbours);
      const context = embeddings.repo.instanceContext(r.neighbours.map((n) => n.instanceId));
      return {
        model: r.pkg.manifest.name,
        modelSha256: r.pkg.sha256,
        provider: r.engine.provider,
        dim: r.vector.length,
        embedding: Array.from(r.vector),
        neighbours: r.neighbours.flatMap((n) => {
          const c = context.get(n.instanceId);
          return c ? [{ instanceId: n.instanceId, score: n.score, ...c }] : [];
        }),
      };
    },
  };
}
