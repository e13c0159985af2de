/**
 * Progress while a sync runs, on stderr: a live line on a TTY, plain periodic lines in CI logs.
 */
import { styleText } from 'node:util';
import type { SyncEvent } from '../surface/sync-types.js';
import { formatDuration } from '../duration.js';
import { rolloutPosition } from '../progressive/rollout.js';

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** Live, rewritten line (TTY) or periodic plain lines (CI). */
  live: boolean;
  color: boolean;
  /** Minimum gap between periodic status lines. */
  intervalMs?: number;
  now?: () => number;
}

/**
 * Renders sync events; returns the event handler and a `done()` that writes the lines still waiting
 * and clears any live line.
 */
export function progressPrinter(opts: ProgressOptions): {
  onEvent: (e: SyncEvent) => void;
  done: () => void;
} {
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? 10_000;
  let lastStatus = 0;
  let liveShown = false;
  let waitStarted = 0;
  // Lines wait for the end of the event loop turn and go out in one write: a sync of 500 objects
  // would otherwise make 500 blocking writes to a pipe, which is what stderr is in CI.
  let pending = '';
  let flushScheduled = false;
  const flush = (): void => {
    if (pending) opts.stream.write(pending);
    pending = '';
  };
  const paint = (style: Parameters<typeof styleText>[0], s: string): string =>
    opts.color ? styleText(style, s, { validateStream: false }) : s;
  const clear = (): void => {
    if (liveShown) opts.stream.write('\r\u001b[2K');
    liveShown = false;
  };
  const line = (s: string): void => {
    clear();
    pending += `${s}\n`;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(() => {
        flushScheduled = false;
        flush();
      });
    }
  };
  const status = (s: string, force = false): void => {
    if (opts.live) {
      flush();
      clear();
      const width = opts.stream.columns ? opts.stream.columns - 1 : 120;
      opts.stream.write(s.length > width ? `${s.slice(0, width - 1)}…` : s);
      liveShown = true;
    } else if (force || now() - lastStatus >= interval) {
      lastStatus = now();
      line(s);
    }
  };

  const onEvent = (e: SyncEvent): void => {
    switch (e.type) {
      case 'stage':
        if (e.stage === 'wait') waitStarted = now();
        if (e.stage !== 'record') line(paint('bold', `${e.service}: ${e.stage}`));
        break;
      case 'lock-wait':
        status(`${e.service}: waiting for the lock held by ${e.holder} (expires in ${e.expiresInSeconds} s)`);
        break;
      case 'object': {
        const r = e.result;
        if (r.action === 'unchanged') break;
        const style = r.action === 'failed' ? 'red' : r.action === 'skipped' ? 'gray' : 'green';
        line(`  ${paint(style, r.action.padEnd(10))} ${r.id}`);
        break;
      }
      case 'health': {
        const s = e.snapshot;
        const ready = s.objects.filter((o) => o.state === 'ready').length;
        const pending = s.objects.filter((o) => o.state !== 'ready');
        const first = pending[0];
        const detail = first
          ? ` — ${first.id}: ${first.message}${pending.length > 1 ? ` (+${pending.length - 1} more)` : ''}`
          : '';
        status(
          `${e.service}: ${ready}/${s.objects.length} ready after ${formatDuration(now() - waitStarted)}${detail}`,
        );
        break;
      }
      case 'rollout': {
        const { view, readyStable, readyCanary } = e.progress;
        const [a, b] = view.strategy === 'canary' ? ['stable', 'canary'] : ['active', 'preview'];
        const gate = view.atGate ? ', waiting at a gate' : '';
        status(
          `${e.service}: rollout ${rolloutPosition(view, ' ')} (${a} ${readyStable} ready, ${b} ${readyCanary} ready${gate})`,
          true,
        );
        break;
      }
      case 'strategy':
        line(`${e.service}: strategy ${e.choice.name} (${e.choice.by}: ${e.choice.reason})`);
        break;
      case 'plan':
        break;
    }
  };
  return {
    onEvent,
    done: () => {
      flush();
      clear();
    },
  };
}
