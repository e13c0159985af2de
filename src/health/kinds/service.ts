/**
 * Service readiness: ready when applied. A LoadBalancer Service waits for an ingress address only when
 * `waitForLoadBalancer` is set, because clusters without a cloud controller never assign one.
 */
import type { KubeObject } from '../../resources/object.js';
import { progressing, ready, type Assessment, type Related, type RuleOptions } from '../assessment.js';
import { field, str } from '../status.js';

/** Ready when applied, or for a LoadBalancer asked to be waited for, once it has an address. */
export function assessService(obj: KubeObject, _related: Related, opts: RuleOptions): Assessment {
  if (field(obj, 'spec', 'type') !== 'LoadBalancer') return ready('applied');
  const ingress = field(obj, 'status', 'loadBalancer', 'ingress');
  const addresses = Array.isArray(ingress)
    ? ingress
        .map((i) => str(field(i, 'ip')) ?? str(field(i, 'hostname')))
        .filter((a): a is string => Boolean(a))
    : [];
  if (addresses.length > 0) return ready(`load balancer at ${addresses.join(', ')}`);
  if (!opts.waitForLoadBalancer)
    return ready('applied; load balancer address not waited for', 'LoadBalancerNotWaited');
  return progressing('waiting for a load balancer address');
}
