// Which API answers are the manifest's fault: the recogniser, fed the exact Status bodies the API
// server sends (captured from kube-apiserver 1.36; test/integration/cluster/type-errors.test.ts
// checks the first against the real server).
import { describe, expect, it } from 'vitest';
import { ApiError, ThroughProxy, invalidObjectReason, isTransient } from '../../../src/cluster/errors.js';
import { describeApiError } from '../../../src/cluster/explain.js';

function answer(status: number, message: string, reason = ''): ApiError {
  return ApiError.fromResponse(
    'PATCH',
    '/apis/apps/v1/namespaces/web/deployments/api',
    status,
    { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code: status },
    {},
  );
}

describe('invalidObjectReason', () => {
  it('recognises a value of the wrong type in the 500 server-side apply answers with', () => {
    const err = answer(
      500,
      'failed to create typed patch object (web/api; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string',
    );
    expect(invalidObjectReason(err)).toBe('.spec.replicas: expected numeric (int or float), got string');
    expect(isTransient(err)).toBe(false);
  });

  it('lists every field of a multi-field type error, with the values as the manifest has them', () => {
    const err = answer(
      500,
      'failed to create typed patch object (web/api; apps/v1, Kind=Deployment): errors:\n' +
        '  .spec.minReadySeconds: expected numeric (int or float), got string\n' +
        '  .spec.replicas: expected numeric (int or float), got string\n' +
        '  .spec.template.spec.containers[name="a"].image: expected string, got &value.valueUnstructured{Value:5}',
    );
    expect(invalidObjectReason(err)).toBe(
      '.spec.minReadySeconds: expected numeric (int or float), got string; ' +
        '.spec.replicas: expected numeric (int or float), got string; ' +
        '.spec.template.spec.containers[name="a"].image: expected string, got 5',
    );
  });

  it("masks the value the server quotes back for a Secret, keeping the field's path", () => {
    const typed = answer(
      500,
      'failed to create typed patch object (web/s; /v1, Kind=Secret): .stringData.PIN: expected string, got &value.valueUnstructured{Value:482913}',
    );
    expect(invalidObjectReason(typed, true)).toBe('.stringData.PIN: expected string, got ***');
    expect(invalidObjectReason(typed)).toBe('.stringData.PIN: expected string, got 482913');
    const invalid = answer(
      422,
      'Secret "s" is invalid: data: got &value.valueUnstructured{Value:hunter2}',
      'Invalid',
    );
    expect(invalidObjectReason(invalid, true)).not.toContain('hunter2');
    const list = answer(
      500,
      'failed to create typed patch object (web/s; /v1, Kind=Secret): errors:\n' +
        '  .stringData.A: expected string, got &value.valueUnstructured{Value:[]interface {}{"hunter2"}}\n' +
        '  .stringData.B: expected string, got &value.valueUnstructured{Value:map[string]interface {}{"k":"hunter2"}}',
    );
    expect(invalidObjectReason(list, true)).toBe(
      '.stringData.A: expected string, got ***; .stringData.B: expected string, got ***',
    );
  });

  it('keeps the server words of 400 and 422 refusals', () => {
    const err = answer(422, 'Deployment.apps "api" is invalid: spec.replicas: Invalid value: -1', 'Invalid');
    expect(invalidObjectReason(err)).toBe(
      'Deployment.apps "api" is invalid: spec.replicas: Invalid value: -1',
    );
  });

  it('leaves other server errors transient and not the manifest’s', () => {
    for (const err of [
      answer(500, 'failed to create typed live object (web/api; apps/v1, Kind=Deployment): .spec: bad'),
      answer(500, 'etcdserver: request timed out'),
      answer(503, 'the server is currently unable to handle the request'),
    ]) {
      expect(invalidObjectReason(err)).toBeUndefined();
      expect(isTransient(err)).toBe(true);
    }
    expect(invalidObjectReason(new Error('socket hang up'))).toBeUndefined();
  });
});

describe('ThroughProxy', () => {
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  it('names the proxy and keeps the code, so a dropped tunnel is retried like a dropped connection', () => {
    const err = new ThroughProxy('http://proxy.example:3128', 'proxy-url', reset);
    expect(err.message).toBe('socket hang up (through the proxy http://proxy.example:3128)');
    expect(err.code).toBe('ECONNRESET');
    expect(err.cause).toBe(reset);
    expect(isTransient(err)).toBe(true);
    // A refused tunnel has no code: it is not retried, the proxy's answer will not change.
    expect(
      isTransient(new ThroughProxy('http://proxy.example:3128', 'proxy-url', new Error('Bad response: 407'))),
    ).toBe(false);
  });

  it('is explained with a hint at the proxy, not at the server address', () => {
    const [problem] = describeApiError(
      new ThroughProxy('http://proxy.example:3128', 'proxy-url', reset),
      'reading live objects',
    ).problems;
    expect(problem!.message).toBe(
      'reading live objects failed: socket hang up (through the proxy http://proxy.example:3128)',
    );
    expect(problem!.hint).toMatch(
      /^check the proxy-url of the kubeconfig cluster \(http:\/\/proxy.example:3128\)/,
    );
    // A proxy from the environment: the hint names the variable and the way around it.
    const [fromEnv] = describeApiError(
      new ThroughProxy('http://proxy.example:3128', 'HTTPS_PROXY', reset),
      'reading live objects',
    ).problems;
    expect(fromEnv!.hint).toMatch(
      /^check HTTPS_PROXY in the environment \(http:\/\/proxy.example:3128\).*NO_PROXY/,
    );
    // TLS to the server runs inside the tunnel: a certificate error is still the server's.
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const [viaTls] = describeApiError(
      new ThroughProxy('http://proxy.example:3128', 'proxy-url', tls),
      'reading',
    ).problems;
    expect(viaTls!.hint).toMatch(/TLS certificate is not trusted/);
  });
});
