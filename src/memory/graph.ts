/**
 * Folding deploy outcomes into the memory graph. `observe(graph, observation)` is pure: it returns a
 * new graph and never touches its input, reads no clock and decays weights only by the time between
 * timestamps, so the same observations give the same graph in a process that lives two seconds or a
 * week. `foldAll` rebuilds a graph from deploy records.
 *
 * Size: after any number of observations the graph holds at most, for the S services, N namespaces
 * and K error kinds deployed or failed within about two weeks (see `MEMORY.floor`): S + N + K nodes;
 * S·N `deployed_to`, S·N·K `breaks` and S·(S−1)/2 `deployed_together` relations;
 * `MEMORY.evidencePerRelation` evidence entries per relation; `MEMORY.recentDeploys` recent deploys.
 */
import { NopeaError } from '../errors.js';
import { MEMORY } from './constants.js';
import { isFailedOutcome } from './error-kinds.js';
import {
  MEMORY_ERROR_KINDS,
  type Evidence,
  type GraphEdge,
  type GraphNode,
  type MemoryErrorKind,
  type MemoryGraph,
  type NodeType,
  type Observation,
  type RecentDeploy,
  type Relation,
} from './types.js';

/** The id of a node: `service:web`, `namespace:staging`, `error:ImagePullBackOff`. */
export function nodeId(type: NodeType, name: string): string {
  return `${type}:${name}`;
}

/** A graph that knows nothing yet. */
export function emptyGraph(): MemoryGraph {
  return { format: 1, nodes: [], edges: [], recent: [], observations: 0 };
}

/** Milliseconds since the epoch of an ISO time (memory's times all come in as ISO strings). */
export function timeOf(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new NopeaError('internal', `memory: "${iso}" is not an ISO time`);
  return ms;
}

/**
 * The share of a weight left after `elapsedMs`. A negative elapsed time (an observation older than
 * the relation's last update, folded out of order) decays nothing rather than growing the weight.
 */
function decayFactor(elapsedMs: number): number {
  return elapsedMs <= 0 ? 1 : 2 ** (-elapsedMs / MEMORY.halfLifeMs);
}

/** A relation's weight decayed to `atMs`. */
export function weightAt(edge: GraphEdge, atMs: number): number {
  return edge.weight * decayFactor(atMs - timeOf(edge.updatedAt));
}

/**
 * The time after which a relation is dropped: when its decayed weight falls below the floor, or, for
 * `deployed_to`, when its age alone would take a weight of 1 below it (a low success rate is kept).
 * Computed once per update, so sweeping the graph for dropped relations is a comparison per relation.
 */
function expiryOf(edge: GraphEdge, updatedMs: number): number {
  const base = edge.relation === 'deployed_to' ? 1 : edge.weight;
  return updatedMs + MEMORY.halfLifeMs * Math.log2(base / MEMORY.floor);
}

/** Whether a relation is still kept at `atMs` (see `MEMORY.floor`). */
export function isKeptAt(edge: GraphEdge, atMs: number): boolean {
  return atMs <= expiryOf(edge, timeOf(edge.updatedAt));
}

/** A relation while a fold works on it, with its times parsed once. */
interface WorkEdge {
  edge: GraphEdge;
  updatedMs: number;
  expiresMs: number;
}

/** A recent deploy while a fold works on it, with its window parsed once. */
interface WorkDeploy {
  deploy: RecentDeploy;
  startMs: number;
  finishMs: number;
}

/** A graph being folded into: relations by key, in the order they were made. */
interface WorkGraph {
  edges: Map<string, WorkEdge>;
  recent: WorkDeploy[];
  observations: number;
}

function edgeKey(relation: Relation, from: string, to: string, scope?: string): string {
  // NUL cannot occur in a service or namespace name, so keys of different relations never collide.
  return `${relation}\0${from}\0${to}\0${scope ?? ''}`;
}

function workEdge(edge: GraphEdge, updatedMs = timeOf(edge.updatedAt)): WorkEdge {
  return { edge, updatedMs, expiresMs: expiryOf(edge, updatedMs) };
}

function toWork(graph: MemoryGraph): WorkGraph {
  const edges = new Map<string, WorkEdge>();
  for (const edge of graph.edges)
    edges.set(edgeKey(edge.relation, edge.from, edge.to, edge.scope), workEdge(edge));
  const recent = graph.recent.map((deploy) => ({
    deploy,
    startMs: timeOf(deploy.startedAt),
    finishMs: timeOf(deploy.finishedAt),
  }));
  return { edges, recent, observations: graph.observations };
}

function nodeOf(id: string): GraphNode {
  const colon = id.indexOf(':');
  return { id, type: id.slice(0, colon) as NodeType, name: id.slice(colon + 1) };
}

/** The graph a fold made: its nodes are exactly those its relations mention, in order of first mention. */
function fromWork(work: WorkGraph): MemoryGraph {
  const edges = [...work.edges.values()].map((w) => w.edge);
  const ids = new Set<string>();
  for (const edge of edges) ids.add(edge.from).add(edge.to);
  return {
    format: 1,
    nodes: [...ids].map(nodeOf),
    edges,
    recent: work.recent.map((r) => r.deploy),
    observations: work.observations,
  };
}

/** Newest first by time, then by id, so equal times still give one order. */
function newerFirst(aMs: number, aId: string, bMs: number, bId: string): number {
  return bMs - aMs || (aId < bId ? 1 : aId > bId ? -1 : 0);
}

/**
 * The evidence with one more entry, newest first, the newest `MEMORY.evidencePerRelation` kept.
 * Observations mostly arrive in time order, so only one older than the relation's last update
 * (`inOrder` false) needs the list sorted.
 */
function withEvidence(evidence: Evidence[], entry: Evidence, inOrder: boolean): Evidence[] {
  const list = [entry, ...evidence];
  if (!inOrder) list.sort((a, b) => newerFirst(timeOf(a.at), a.deployId, timeOf(b.at), b.deployId));
  if (list.length > MEMORY.evidencePerRelation) list.length = MEMORY.evidencePerRelation;
  return list;
}

/** One EWMA update of a relation, toward `target` by `step`, after decaying it to the observation's time. */
interface Update {
  target: 0 | 1;
  step: number;
  /** Counted in `count` and kept as evidence (successes lowering a `breaks` are neither). */
  evidence?: Evidence;
}

/**
 * Applies an update to a relation. A relation that does not exist yet is made from `prior` (the
 * weight it is taken to have had), when one is given; without one, the update only moves existing
 * relations. A relation the update leaves below the floor is dropped.
 */
function update(
  work: WorkGraph,
  ref: { relation: Relation; from: string; to: string; scope?: string },
  at: { iso: string; ms: number },
  change: Update,
  prior?: number,
): void {
  const key = edgeKey(ref.relation, ref.from, ref.to, ref.scope);
  const current = work.edges.get(key);
  if (!current && prior === undefined) return;
  const decayed = current ? current.edge.weight * decayFactor(at.ms - current.updatedMs) : prior!;
  const previous = current?.edge;
  const inOrder = !current || at.ms >= current.updatedMs;
  const edge: GraphEdge = {
    from: ref.from,
    to: ref.to,
    relation: ref.relation,
    // Clamped against rounding: the EWMA of values in [0, 1] stays in [0, 1].
    weight: Math.min(1, Math.max(0, decayed + change.step * (change.target - decayed))),
    count: (previous?.count ?? 0) + (change.evidence ? 1 : 0),
    updatedAt: inOrder ? at.iso : previous!.updatedAt,
    evidence: change.evidence
      ? withEvidence(previous?.evidence ?? [], change.evidence, inOrder)
      : (previous?.evidence ?? []),
  };
  if (ref.scope !== undefined) edge.scope = ref.scope;
  const next = workEdge(edge, inOrder ? at.ms : current.updatedMs);
  if (next.expiresMs < next.updatedMs) work.edges.delete(key);
  else work.edges.set(key, next);
}

/** Whether the deploy is already in the graph: among the recent deploys, or the evidence of its `deployed_to`. */
function alreadyFolded(work: WorkGraph, obs: Observation, service: string, namespace: string): boolean {
  if (work.recent.some((r) => r.deploy.deployId === obs.deployId)) return true;
  const to = work.edges.get(edgeKey('deployed_to', service, namespace));
  return to !== undefined && to.edge.evidence.some((e) => e.deployId === obs.deployId);
}

/** Other services with a recent deploy whose window overlapped this one's. */
function overlappingServices(work: WorkGraph, obs: Observation, startMs: number, finishMs: number): string[] {
  const services = new Set<string>();
  for (const r of work.recent) {
    if (r.deploy.service !== obs.service && r.startMs <= finishMs && startMs <= r.finishMs) {
      services.add(r.deploy.service);
    }
  }
  return [...services].sort();
}

/** Adds the deploy to the recent ones in its place, newest first, keeping the newest `MEMORY.recentDeploys`. */
function addRecent(work: WorkGraph, obs: Observation, startMs: number, finishMs: number): void {
  const entry: WorkDeploy = {
    deploy: {
      deployId: obs.deployId,
      service: obs.service,
      namespace: obs.namespace,
      startedAt: obs.startedAt,
      finishedAt: obs.finishedAt,
      outcome: obs.outcome,
      durationMs: Math.max(0, finishMs - startMs),
    },
    startMs,
    finishMs,
  };
  const recent = work.recent;
  const before = recent.findIndex(
    (r) => newerFirst(finishMs, obs.deployId, r.finishMs, r.deploy.deployId) < 0,
  );
  const i = before === -1 ? recent.length : before;
  work.recent = [...recent.slice(0, i), entry, ...recent.slice(i, MEMORY.recentDeploys - 1)];
}

/** Drops every relation whose weight has decayed below the floor by `atMs`. */
function sweep(work: WorkGraph, atMs: number): void {
  for (const [key, w] of work.edges) if (atMs > w.expiresMs) work.edges.delete(key);
}

/** Folds one observation into a graph being worked on; false when it was already folded in. */
function fold(work: WorkGraph, obs: Observation): boolean {
  const service = nodeId('service', obs.service);
  const namespace = nodeId('namespace', obs.namespace);
  if (alreadyFolded(work, obs, service, namespace)) return false;
  const at = { iso: obs.finishedAt, ms: timeOf(obs.finishedAt) };
  const startMs = timeOf(obs.startedAt);
  const evidence: Evidence = { deployId: obs.deployId, at: obs.finishedAt, outcome: obs.outcome };
  const failed = isFailedOutcome(obs.outcome);

  if (obs.outcome !== 'cancelled') {
    const target = failed ? 0 : 1;
    update(
      work,
      { relation: 'deployed_to', from: service, to: namespace },
      at,
      { target, step: MEMORY.deployedToStep, evidence },
      target, // a first deploy sets the success rate outright
    );
  }
  if (failed) {
    // A failure no reason names is still a failure; a failure of one kind leaves the others be.
    const kinds: MemoryErrorKind[] = obs.errorKinds.length > 0 ? obs.errorKinds : ['Other'];
    for (const kind of new Set(kinds)) {
      update(
        work,
        { relation: 'breaks', from: nodeId('error', kind), to: service, scope: obs.namespace },
        at,
        { target: 1, step: MEMORY.failureStep, evidence: { ...evidence, errorKind: kind } },
        0,
      );
    }
  } else if (obs.outcome === 'succeeded') {
    for (const kind of MEMORY_ERROR_KINDS) {
      update(
        work,
        { relation: 'breaks', from: nodeId('error', kind), to: service, scope: obs.namespace },
        at,
        { target: 0, step: MEMORY.successStep },
      );
    }
  }
  for (const other of overlappingServices(work, obs, startMs, at.ms)) {
    const [from, to] = [service, nodeId('service', other)].sort() as [string, string];
    update(
      work,
      { relation: 'deployed_together', from, to },
      at,
      { target: 1, step: MEMORY.deployedTogetherStep, evidence },
      0,
    );
  }
  addRecent(work, obs, startMs, at.ms);
  sweep(work, at.ms);
  work.observations += 1;
  return true;
}

/**
 * The graph with one deploy outcome folded in (a new graph; the input is left as it was). Folding a
 * deploy already in the graph (its id among the recent deploys or the evidence of its service in its
 * namespace) returns the graph unchanged. An observation older than what a relation last saw moves
 * it without decaying it, so folding out of order is safe.
 */
export function observe(graph: MemoryGraph, observation: Observation): MemoryGraph {
  const work = toWork(graph);
  return fold(work, observation) ? fromWork(work) : graph;
}

/** A graph rebuilt from deploy outcomes, folded in the order they finished. */
export function foldAll(observations: Observation[]): MemoryGraph {
  const ordered = observations
    .map((obs) => ({ obs, ms: timeOf(obs.finishedAt) }))
    .sort((a, b) => -newerFirst(a.ms, a.obs.deployId, b.ms, b.obs.deployId));
  const work = toWork(emptyGraph());
  for (const { obs } of ordered) fold(work, obs);
  return fromWork(work);
}
