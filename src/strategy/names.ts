/**
 * The strategies a deploy can run with, and who can choose one: the vocabulary `nopea.yaml`, the
 * flags, the deploy record and the strategies themselves share. No imports, so the lowest layers may
 * use it.
 */
export const STRATEGY_NAMES = ['direct', 'canary', 'blue-green'] as const;

export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** What a flag or `nopea.yaml` may ask for: a strategy, or `auto` (memory advises; the default). */
export const STRATEGY_REQUESTS = ['auto', ...STRATEGY_NAMES] as const;

export type StrategyRequest = (typeof STRATEGY_REQUESTS)[number];

/** Who decided a deploy's strategy: `--strategy`, `nopea.yaml`, memory's advice, or the default. */
export const STRATEGY_CHOOSERS = ['flag', 'config', 'memory', 'default'] as const;

export type ChosenBy = (typeof STRATEGY_CHOOSERS)[number];
