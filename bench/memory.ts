/**
 * Micro-benchmark of memory: folding 10,000 realistic deploy outcomes into a graph with `foldAll`, as
 * a missing or corrupt `graph.json` is rebuilt from the deploy records (target: under 1 s). Pure
 * code, no cluster: `npm run bench` calls it; `node --import tsx bench/memory.ts` runs it alone.
 */
import { foldAll } from '../src/memory/graph.js';
import { realisticObservations } from '../test/unit/memory/fixtures.js';

/** Times `foldAll` of 10,000 observations: the best of a few runs, after one to warm the JIT up. */
export async function benchMemory(): Promise<{ foldMs: number; observations: number }> {
  const observations = realisticObservations(10_000);
  foldAll(observations);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 5; run++) {
    const start = performance.now();
    foldAll(observations);
    best = Math.min(best, performance.now() - start);
    // Yield between runs so a caller's progress output is not held up.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { foldMs: best, observations: observations.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { foldMs, observations } = await benchMemory();
  console.log(`foldAll of ${observations} observations: ${foldMs.toFixed(1)} ms`);
}
