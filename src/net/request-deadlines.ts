import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';

/** A request given up at its overall deadline, whatever phase it was in. */
export class DeadlineExceededError extends Error {
  readonly code = 'ERR_TOCSIN_DEADLINE';
  constructor(readonly deadlineMs: number) {
    super(`no complete answer within ${deadlineMs} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * One request's overall deadline, in the shape undici's `request` takes as its `signal`: an
 * EventEmitter that emits `abort`, then carries `aborted` and `reason`. undici then fails the
 * request if it is still waiting for the answer, or destroys the answer's body (and its socket)
 * if it is reading it.
 */
export class RequestDeadline extends EventEmitter {
  aborted = false;
  reason: DeadlineExceededError | undefined;
  /** The request is over; its deadline is no longer watched. */
  settled = false;
  constructor(readonly at: number) {
    super();
  }
  /** Call when the request is over (answered, failed or aborted). */
  settle(): void {
    this.settled = true;
  }
}

export interface RequestDeadlines {
  /** Starts the clock of a request that must be over within the deadline from now. */
  start(): RequestDeadline;
  /** Stops watching; requests still running are no longer bounded. */
  close(): void;
}

export interface RequestDeadlinesOptions {
  /** How long a request may take, all phases together. */
  deadlineMs: number;
  /** How often the watch looks for requests past their deadline. Default a tenth of it, within 20-500 ms. */
  sweepMs?: number;
}

/**
 * Overall deadlines for many requests at once, watched by one timer. Idle timeouts (undici's
 * headers and body timers, a socket's timeout) are renewed by every byte, so a peer that trickles
 * one byte every few seconds never trips them; this does. A timer and an AbortSignal per request
 * would do it too, but cost a quarter of the webhook delivery rate in `npm run bench`: here a
 * request costs one small object, and all share one deadline length, so they expire in the order
 * they started and a sweep only looks at the front of a queue. A request ends at most one sweep
 * after its deadline.
 */
export function createRequestDeadlines(options: RequestDeadlinesOptions): RequestDeadlines {
  const sweepMs = options.sweepMs ?? Math.min(500, Math.max(20, Math.round(options.deadlineMs / 10)));
  let queue: RequestDeadline[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  function sweep(): void {
    const now = performance.now();
    while (head < queue.length) {
      const d = queue[head]!;
      if (!d.settled) {
        if (d.at > now) break;
        d.aborted = true;
        d.reason = new DeadlineExceededError(options.deadlineMs);
        d.settled = true;
        d.emit('abort');
      }
      head += 1;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
      clearInterval(timer);
      timer = undefined;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  return {
    start() {
      const d = new RequestDeadline(performance.now() + options.deadlineMs);
      queue.push(d);
      if (!timer) {
        // Runs only while requests are out; it never keeps the process alive by itself.
        timer = setInterval(sweep, sweepMs);
        timer.unref();
      }
      return d;
    },
    close() {
      clearInterval(timer);
      timer = undefined;
      queue = [];
      head = 0;
    },
  };
}
