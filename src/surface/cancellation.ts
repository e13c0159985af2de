/**
 * What a signal (or a client's cancellation) does to a run in progress, the same for every interface:
 * the first one stops new writes — what was applied is still recorded and the lock released; every
 * later one only cuts short the requests in flight, and never skips the record. The interfaces
 * decide where cancellations come from (SIGINT/SIGTERM, MCP's notifications/cancelled) and what to
 * print; this holds the two signals the facade reads.
 */
export class Cancellation {
  private readonly stopping = new AbortController();
  private readonly hurrying = new AbortController();
  private received = 0;

  /** Aborted at the first cancellation: no new write starts. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Aborted at the second: requests in flight are cut short; the outcome is still recorded. */
  get hurry(): AbortSignal {
    return this.hurrying.signal;
  }

  /** Takes one cancellation; says which step it was. */
  cancel(): 'stop' | 'hurry' {
    this.received++;
    if (this.received === 1) {
      this.stopping.abort();
      return 'stop';
    }
    this.hurrying.abort();
    return 'hurry';
  }
}
