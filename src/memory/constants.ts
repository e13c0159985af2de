/**
 * Every number memory works with, in one table. The unit tests in `test/unit/memory/` pin what
 * these values do together; change one there first. With the defaults:
 *
 * - one failure of a kind → confidence 0.5 → `canary` (0.5 > 0.3), for about 35 hours with no deploy
 *   since (0.5 · 2^(−t/2d) falls to 0.3 at t ≈ 1.47 days), not the original's 60 hours;
 * - after it, 2 successes → 0.5 · 0.7² = 0.245 → `direct`;
 * - 3 failures in a row → 0.875, and it takes 4 successes (0.6125, 0.42875, 0.300125, 0.2100875);
 * - a single failure 14 days old has decayed to 0.5 · 2⁻⁷ ≈ 0.0039: below the floor, dropped;
 * - another namespace's failures count at a quarter, so on their own they never reach the default
 *   threshold (at most 0.25), but show in `explain` and count when the threshold is set lower.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const MEMORY = {
  /**
   * EWMA step toward 1 of a `breaks` relation on a failure of that kind: a first failure is 0.5,
   * enough for canary on the next deploy, and a failure repeated in a row climbs fast (0.75, 0.875).
   */
  failureStep: 0.5,
  /**
   * EWMA step toward 0 of every `breaks` relation of a service in a namespace on its success there:
   * after one failure two successes clear the advice (0.245 < 0.3); after three failures it takes four,
   * so the advice stays monotone in the evidence.
   */
  successStep: 0.3,
  /**
   * EWMA step of `deployed_to` toward 1 on a success and toward 0 on a failure (its first deploy sets
   * it outright): a recency-weighted success rate that a single outcome moves but does not flip.
   */
  deployedToStep: 0.3,
  /** EWMA step toward 1 of `deployed_together` on each overlap: 0.3, 0.51, 0.66, … with repeated overlaps. */
  deployedTogetherStep: 0.3,
  /**
   * Every weight halves when no observation touches it for this long. Decay is computed from the
   * observations' timestamps (and `now` when read), never by a timer, so a CI process that lives two
   * seconds ages the graph by two seconds. Two days: a failure seen yesterday still weighs 0.35, one
   * from last week is nearly gone.
   */
  halfLifeMs: 2 * DAY_MS,
  /**
   * A relation whose decayed weight falls below this is dropped, and so are nodes no relation
   * mentions; it keeps the graph to what was active in the last two weeks or so (a weight of 1 takes
   * log2(100) ≈ 6.6 half-lives, about 13.3 days, to get here). `deployed_to` is the exception: its
   * weight is a success rate, and a low one is information, so it is dropped when its age alone
   * would have decayed a weight of 1 below the floor.
   */
  floor: 0.01,
  /** Evidence entries kept per relation, newest first: enough to name the last failures, bounded. */
  evidencePerRelation: 10,
  /**
   * Recent deploys kept in the graph (newest by finish time): the windows overlapping deploys are
   * looked for in, the recent outcomes of the context, and the ids that make folding idempotent.
   */
  recentDeploys: 50,
  /** Default `memory.canaryThreshold`: `auto` advises canary when a counting confidence is above it. */
  canaryThreshold: 0.3,
  /**
   * Failure patterns of the same service in another namespace count at this share of their confidence:
   * staging's failures are information for prod, not a verdict (0.25 · 1 stays below the default
   * threshold).
   */
  otherNamespaceWeight: 0.25,
  /** How many recent outcomes of the service in the namespace the deploy context reports. */
  recentOutcomes: 10,
  /** Below this share of successes among the recent outcomes (and with at least two), the context says so. */
  lowSuccessRate: 0.5,
  /** How many risks `nopea memory` lists by default. */
  topRisks: 10,
} as const;
