/**
 * PersistentVolumeClaim readiness: Bound is ready, Lost fails, Pending waits, unless its StorageClass
 * binds on first consumer (`volumeBindingMode: WaitForFirstConsumer`, passed in as
 * `related.storageClass`): then it is ready, because it binds only once a pod uses it and those pods
 * are waited for themselves.
 */
import type { KubeObject } from '../../resources/object.js';
import { failed, progressing, ready, type Assessment, type Related } from '../assessment.js';
import { field, str } from '../status.js';

/** Ready when Bound or waiting for its first consumer; failed when Lost. */
export function assessPersistentVolumeClaim(obj: KubeObject, related: Related): Assessment {
  const phase = str(field(obj, 'status', 'phase')) ?? 'Pending';
  if (phase === 'Bound') return ready('Bound');
  if (phase === 'Lost') return failed('ClaimLost', 'the bound PersistentVolume no longer exists');
  const mode = str(field(related.storageClass, 'volumeBindingMode'));
  if (mode === 'WaitForFirstConsumer') {
    return ready(
      `Pending until a pod uses it (StorageClass ${related.storageClass?.metadata.name} binds on first consumer)`,
      'WaitForFirstConsumer',
    );
  }
  return progressing(`${phase}: waiting for a volume to be bound`);
}
