/**
 * Whether this process keeps metrics of its own: true once the process-wide registry (`registry.ts`)
 * is loaded, which `nopea serve` does to expose `/metrics`. A run that neither pushes its metrics nor
 * runs in such a process has nobody to read them, so it loads no metrics code at all (prom-client,
 * the per-request observer and the async scope that attributes requests cost a CLI run's start-up
 * and every request); see `events/telemetry.ts`. Dependency-free, so asking loads nothing.
 */
let kept = false;

/** Called by `registry.ts` when it loads. */
export function keepProcessMetrics(): void {
  kept = true;
}

export function processMetricsKept(): boolean {
  return kept;
}
