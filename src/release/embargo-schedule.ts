import type { Logger } from 'pino';

export interface EmbargoScheduleDeps {
  /** When each revision still waiting for its embargo to end is due (past times included). */
  pending: () => Promise<Date[]>;
  /** Releases every revision whose embargo has ended; resolves to how many. */
  releaseDue: () => Promise<number>;
  /** Tocsin's own clock (UTC), injected for tests. */
  now: () => Date;
  log: Logger;
  /** How soon a pass that failed (Redis down, a disk error) is tried again. Default 1 s. */
  retryMs?: number;
  /**
   * The longest the timer waits before looking again, however far the next release: a clock
   * stepped forward, or a release another process scheduled, is seen within it. Default 30 s.
   */
  maxWaitMs?: number;
}

/**
 * The timer to the nearest embargo end. The schedule itself lives in the archive (every revision
 * accepted under an embargo and not yet released), so a restart of any process, or a Redis that
 * lost its data, loses nothing: each start, each maintenance pass and each new embargo calls
 * `check`, which releases what is due and sets the timer to the next. Passes run one at a time; a
 * call during one runs another after it.
 */
export function createEmbargoSchedule(deps: EmbargoScheduleDeps) {
  const retryMs = deps.retryMs ?? 1_000;
  const maxWaitMs = deps.maxWaitMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  function arm(ms: number): void {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(() => void check(), Math.max(0, Math.min(ms, maxWaitMs)));
    timer.unref();
  }

  async function pass(): Promise<void> {
    try {
      await deps.releaseDue();
      const now = deps.now().getTime();
      const next = Math.min(...(await deps.pending()).map((d) => d.getTime()));
      // Anything released late by a few ms is still released by the next pass, not missed.
      arm(Number.isFinite(next) ? next - now : maxWaitMs);
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'embargo release pass failed; trying again shortly');
      arm(retryMs);
    }
  }

  function check(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await pass();
      } while (again && !closed);
    })().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    /** Releases what is due now, then sets the timer to the next embargo end. */
    check,
    /** Stops the timer and waits for a pass in progress. */
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
export type EmbargoSchedule = ReturnType<typeof createEmbargoSchedule>;
