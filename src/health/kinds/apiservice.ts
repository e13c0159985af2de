/**
 * APIService readiness: Available. Local services always are; remote ones once their backend answers
 * discovery, which objects of the kinds they serve need before they can be applied.
 */
import type { KubeObject } from '../../resources/object.js';
import { progressing, ready, type Assessment } from '../assessment.js';
import { conditionOf, conditionText } from '../status.js';

/** Ready when the Available condition is True. */
export function assessAPIService(obj: KubeObject): Assessment {
  const available = conditionOf(obj, 'Available');
  if (available?.status === 'True') return ready('Available');
  return progressing(
    available ? `not Available: ${conditionText(available)}` : 'not Available yet',
    available?.reason,
  );
}
