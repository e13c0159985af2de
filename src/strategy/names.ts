/**
 * The strategies a deploy can run with: the vocabulary `nopea.yaml`, the flags, the deploy record
 * and the strategies themselves share. No imports, so the lowest layers may use it.
 */
export const STRATEGY_NAMES = ['direct', 'canary', 'blue-green'] as const;

export type StrategyName = (typeof STRATEGY_NAMES)[number];
