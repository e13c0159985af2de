/**
 * CustomResourceDefinition readiness: Established, so objects of the new kind can be applied next.
 * NamesAccepted False fails at once: the names clash with another CRD, which waiting does not resolve.
 */
import type { KubeObject } from '../../resources/object.js';
import { failed, progressing, ready, type Assessment } from '../assessment.js';
import { conditionOf, conditionText } from '../status.js';

/** Ready when Established; failed when NamesAccepted is False. */
export function assessCustomResourceDefinition(obj: KubeObject): Assessment {
  const names = conditionOf(obj, 'NamesAccepted');
  if (names?.status === 'False')
    return failed(names.reason ?? 'NamesNotAccepted', names.message ?? 'names not accepted');
  const established = conditionOf(obj, 'Established');
  if (established?.status === 'True') return ready('Established');
  return progressing(established ? `not Established: ${conditionText(established)}` : 'not Established yet');
}
