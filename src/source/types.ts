import type { Origin } from '../errors.js';
import type { KubeObject } from '../resources/object.js';

/** One desired object as read from the repository, with where it came from. */
export interface Manifest {
  object: KubeObject;
  origin: Origin;
}
