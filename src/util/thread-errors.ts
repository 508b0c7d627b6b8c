/**
 * A task ran past its deadline in a worker thread. The thread was terminated and the next task
 * gets a fresh one; the caller treats this task as failed this time (an accepted advisory stays
 * archived and recovery renders it later).
 */
export class ThreadDeadlineError extends Error {
  constructor(
    readonly thread: string,
    readonly deadlineMs: number,
  ) {
    super(`the ${thread} thread did not finish within ${deadlineMs} ms: it was replaced`);
    this.name = 'ThreadDeadlineError';
  }
}

/**
 * A worker thread died (an uncaught error, memory exhausted, or the runner closed) before its task
 * finished. The next task gets a fresh thread; the caller treats this task as failed this time.
 */
export class ThreadExitedError extends Error {
  constructor(
    readonly thread: string,
    reason: string,
    options?: { cause: unknown },
  ) {
    super(`the ${thread} thread stopped before finishing its task: ${reason}`, options);
    this.name = 'ThreadExitedError';
  }
}
