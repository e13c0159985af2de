import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../../src/cli/progress.js';

function capture(): { stream: NodeJS.WriteStream; writes: string[] } {
  const writes: string[] = [];
  const stream = { columns: 80, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

const id = (name: string): string => `v1/ConfigMap/default/${name}`;

describe('progressPrinter', () => {
  it('writes the lines of one event loop turn at once, in order', async () => {
    const { stream, writes } = capture();
    const p = progressPrinter({ stream, live: false, color: false });
    p.onEvent({ type: 'stage', service: 'web', stage: 'apply' });
    for (const name of ['a', 'b', 'c'])
      p.onEvent({ type: 'object', service: 'web', result: { id: id(name), action: 'created' } });
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([
      'web: apply\n' + `  created    ${id('a')}\n  created    ${id('b')}\n  created    ${id('c')}\n`,
    ]);
  });

  it('done() writes what is still waiting, before anything printed after it', () => {
    const { stream, writes } = capture();
    const p = progressPrinter({ stream, live: false, color: false });
    p.onEvent({ type: 'object', service: 'web', result: { id: id('a'), action: 'configured' } });
    p.done();
    expect(writes).toEqual([`  configured ${id('a')}\n`]);
  });

  it('on a TTY, waiting lines go out before the live status line replaces them', () => {
    const { stream, writes } = capture();
    const p = progressPrinter({ stream, live: true, color: false });
    p.onEvent({ type: 'object', service: 'web', result: { id: id('a'), action: 'created' } });
    p.onEvent({ type: 'lock-wait', service: 'web', holder: 'ci-1', expiresInSeconds: 30 });
    p.onEvent({ type: 'object', service: 'web', result: { id: id('b'), action: 'created' } });
    p.done();
    expect(writes.join('')).toBe(
      `  created    ${id('a')}\n` +
        'web: waiting for the lock held by ci-1 (expires in 30 s)' +
        '\r\u001b[2K' +
        `  created    ${id('b')}\n`,
    );
  });
});
