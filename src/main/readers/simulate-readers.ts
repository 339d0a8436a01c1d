// Simulated readers for the demo: each reads every item of their order through the same calls a person's reads
// take, right with a known probability and otherwise choosing another label at random (seeded), so a study on
// the demo set shows agreement with structure (the more accurate two readers agree most).
import type { CallName, CallParsed, CallResult } from '../../shared/contract.ts';
import { mulberry32 } from '../../shared/random.ts';

type Invoke = <N extends CallName>(name: N, input: CallParsed<N> | Record<string, unknown>) => Promise<CallResult<N>>;

export interface SimulatedReader { name: string; accuracy: number }

export const DEMO_READERS: readonly SimulatedReader[] = [
  { name: 'reader-a', accuracy: 0.95 },
  { name: 'reader-b', accuracy: 0.8 },
  { name: 'reader-c', accuracy: 0.6 },
];

/** Reads study `study` as each reader in turn; `truthOf` gives an item's true label; `labels` the choices. */
export async function simulateReads(invoke: Invoke, study: number, readers: readonly SimulatedReader[], truthOf: (itemUid: string) => string, labels: readonly string[], seed = 1): Promise<void> {
  for (const [k, reader] of readers.entries()) {
    const random = mulberry32(seed * 7919 + k);
    await invoke('readers.select', { name: reader.name });
    for (let next = await invoke('reading.next', { study }); next; next = await invoke('reading.next', { study })) {
      const truth = truthOf(next.itemUid);
      const others = labels.filter((l) => l !== truth);
      const label = random() < reader.accuracy ? truth : others[Math.floor(random() * others.length)]!;
      await invoke('reading.read', { study, position: next.position, label });
    }
  }
}
