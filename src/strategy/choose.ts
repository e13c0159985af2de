/**
 * Which strategy a deploy runs with, who chose it and why, as a value the deploy record keeps. An
 * explicit strategy always wins — `--strategy` over `strategy:` in nopea.yaml; with `auto` (the
 * default) memory's advice decides. A strategy this nopea cannot run is never replaced silently: an
 * explicit one is refused (exit 2, nothing written); advice for one falls back to direct, with a
 * warning that says what memory advised and why.
 */
import { NopeaError } from '../errors.js';
import type { StrategyName, StrategyRequest } from './names.js';
import type { StrategyChoice } from './types.js';

export interface ChoiceInput {
  /** `--strategy` (or the Action's and API's `strategy`). */
  flag?: StrategyRequest;
  /** `strategy:` of the service in nopea.yaml. */
  configured?: StrategyRequest;
  /** What memory advises for the service in its namespace (absent: memory knows nothing yet). */
  advice?: { strategy: StrategyName; reasons: string[] };
  /** The strategies the cluster can run (canary and blue-green need Kulta). */
  available: ReadonlySet<StrategyName>;
  /** Why memory's advice for a progressive strategy cannot be followed for this service, if it cannot. */
  unqualified?: string;
}

/** A choice, and a warning when what was advised could not be followed. */
export interface Choice extends StrategyChoice {
  warning?: string;
}

const PROGRESSIVE_MISSING =
  'progressive delivery (canary, blue-green) needs Kulta, which the cluster does not serve (rollouts.kulta.io)';

/** Chooses; throws an input error for an explicit strategy that cannot run. */
export function chooseStrategy(input: ChoiceInput): Choice {
  const explicit =
    input.flag && input.flag !== 'auto'
      ? { name: input.flag, by: 'flag' as const, reason: `--strategy ${input.flag}` }
      : !input.flag && input.configured && input.configured !== 'auto'
        ? {
            name: input.configured,
            by: 'config' as const,
            reason: `strategy: ${input.configured} in nopea.yaml`,
          }
        : undefined;
  if (explicit) {
    if (input.available.has(explicit.name)) return explicit;
    throw new NopeaError('input', {
      message: `strategy ${explicit.name} (${explicit.reason}) cannot run: ${PROGRESSIVE_MISSING}`,
      hint:
        explicit.by === 'flag'
          ? 'deploy with --strategy direct (or auto)'
          : 'set strategy: direct (or auto) for the service in nopea.yaml, or pass --strategy direct',
    });
  }
  const advice = input.advice;
  if (!advice)
    return { name: 'direct', by: 'default', reason: 'auto: no deploy of this service remembered yet' };
  const because = advice.reasons.join('; ');
  const cannot =
    advice.strategy === 'direct'
      ? undefined
      : !input.available.has(advice.strategy)
        ? PROGRESSIVE_MISSING
        : input.unqualified;
  if (!cannot) return { name: advice.strategy, by: 'memory', reason: `auto: ${because}` };
  const warning = `memory advises ${advice.strategy} (${because}), but ${cannot}: deploying directly`;
  return {
    name: 'direct',
    by: 'memory',
    reason: `auto: advised ${advice.strategy} (${because}); deployed directly: ${cannot}`,
    warning,
  };
}
