/**
 * Which strategy a deploy runs with, and why, as a value the deploy record keeps: an explicit
 * choice wins, then the service's `strategy:` in nopea.yaml, else the default.
 */
import type { StrategyName } from './names.js';
import type { StrategyChoice } from './types.js';

export interface ChoiceInput {
  /** `strategy:` of the service in nopea.yaml. */
  configured?: StrategyName;
}

/**
 * Only the direct strategy runs today: a service configured for another one is still deployed
 * directly, and the reason says where the configuration came from.
 */
export function chooseStrategy(input: ChoiceInput): StrategyChoice {
  if (input.configured) return { name: 'direct', by: 'config', reason: 'configured in nopea.yaml' };
  return { name: 'direct', by: 'default', reason: 'default' };
}
