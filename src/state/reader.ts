/**
 * What reading the state branch yields, as types only: the reader a store offers at its tip, and what
 * it says about one service. A module of its own so that a change's `derive` (change.ts) can be handed
 * a reader without change.ts depending on the store that builds and publishes the change.
 */
import type { ResourceId } from '../resources/object.js';
import type { Current, DeployRecord, Graph, Inventory, LastApplied } from './format.js';

/** What the branch tip says about one service. */
export interface ServiceState {
  inventory?: Inventory;
  /** Last-applied objects keyed by resource id. */
  lastApplied: Map<ResourceId, LastApplied>;
  current?: Current;
}

/** Read access to the state at one tip. */
export interface StateReader {
  readonly branch: string;
  /** Remote name, or undefined when the state is a local branch. */
  readonly remote: string | undefined;
  /** Commit the reads see, or undefined when the branch does not exist yet. */
  readonly tip: string | undefined;
  /** State format of the tip (the current format when the branch does not exist yet). */
  readonly format: number;
  /** Services that have a directory on the branch, sorted. */
  listServices(): Promise<string[]>;
  /** Inventory, last-applied objects and current deploy of a service (empty when it has none). */
  readService(service: string): Promise<ServiceState>;
  /** Deploy records of a service, newest first, at most `limit` (default: all that are kept). */
  listDeploys(service: string, options?: { limit?: number }): Promise<DeployRecord[]>;
  /** One deploy record, or undefined when the branch has no record with that id for the service. */
  readDeploy(service: string, id: string): Promise<DeployRecord | undefined>;
  /** The memory graph, or undefined when none has been written. */
  readGraph(): Promise<Graph | undefined>;
}
