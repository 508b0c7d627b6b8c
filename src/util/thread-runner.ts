import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ThreadReply } from './serve-thread';
import { ThreadDeadlineError, ThreadExitedError } from './thread-errors';

/** The top of the source tree when this file runs as TypeScript (src/util/ under ts-jest). */
const SOURCE_ROOT = path.resolve(__dirname, '../..');

/**
 * The JavaScript file a worker thread runs, for a script `name.ts` in `dirname` (pass the caller's
 * `__dirname`). A Worker runs JavaScript only: the built package has `name.js` right beside its
 * caller; under ts-jest, which runs src/ as TypeScript, the compiled copy under dist/ is used
 * (jest builds dist/ before any test runs: test/support/global-setup.ts).
 */
export function threadScript(dirname: string, name: string): string {
  const beside = path.join(dirname, `${name}.js`);
  if (existsSync(beside)) return beside;
  return path.join(SOURCE_ROOT, 'dist', path.relative(SOURCE_ROOT, dirname), `${name}.js`);
}

export interface ThreadRunnerOptions {
  /** The worker script, from {@link threadScript}; it calls `serveThread` (util/serve-thread.ts). */
  script: string;
  /** Names the thread in errors and in the process's thread list, e.g. `notice-render`. */
  name: string;
  /** How long one task may run before its thread is terminated and replaced. No default: each use decides. */
  deadlineMs: number;
}

/**
 * CPU-heavy work kept off the caller's event loop, in one long-lived worker thread: whatever a
 * task costs, the caller's thread stays free to answer requests.
 */
export interface ThreadRunner<In, Out> {
  /**
   * Runs one task in the thread and resolves with its result. Tasks run one at a time, in the
   * order asked, so a deadline measures one task's own work. Rejects with the task's own error
   * (its name and message kept), {@link ThreadDeadlineError} or {@link ThreadExitedError}.
   */
  run(input: In): Promise<Out>;
  /** Stops the thread now: the task it runs and every task still waiting fail with {@link ThreadExitedError}. */
  close(): Promise<void>;
}

function revive(error: { name: string; message: string; stack?: string }): Error {
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack) err.stack = error.stack;
  return err;
}

/**
 * Starts the thread with the first task, and again after one died or ran past its deadline, so a
 * document that hangs or crashes a task costs that task only.
 */
export function createThreadRunner<In, Out>(options: ThreadRunnerOptions): ThreadRunner<In, Out> {
  let thread: Worker | null = null;
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;
  /** Fails the task in flight, while one is. */
  let abort: ((err: Error) => void) | null = null;

  function start(): Worker {
    const w = new Worker(options.script, { name: options.name });
    // The API's server keeps the process alive; an idle thread must not keep it from exiting.
    w.unref();
    // Without a listener, a thread's uncaught error would be thrown here and take the API down;
    // a thread that dies while idle is simply replaced by the next task.
    w.on('error', () => undefined);
    w.once('exit', () => {
      if (thread === w) thread = null;
    });
    return w;
  }

  function discard(w: Worker): void {
    if (thread === w) thread = null;
    void w.terminate();
  }

  function runOne(input: In): Promise<Out> {
    if (closed) return Promise.reject(new ThreadExitedError(options.name, 'the runner was closed'));
    const w = (thread ??= start());
    return new Promise<Out>((resolve, reject) => {
      // Counted from when the thread gets the task: time spent waiting behind another is not its own.
      const timer = setTimeout(() => fail(new ThreadDeadlineError(options.name, options.deadlineMs)), options.deadlineMs);
      const finish = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('messageerror', onMessageError);
        w.off('error', onError);
        w.off('exit', onExit);
        abort = null;
      };
      const fail = (err: Error) => {
        finish();
        discard(w);
        reject(err);
      };
      const onMessage = (reply: ThreadReply<Out>) => {
        finish();
        if (reply.ok) resolve(reply.value);
        else reject(revive(reply.error));
      };
      // The answer could not be read back (a result that does not clone): the thread itself is fine.
      const onMessageError = (err: Error) => {
        finish();
        reject(err);
      };
      const onError = (err: Error) => fail(new ThreadExitedError(options.name, err.message, { cause: err }));
      const onExit = (code: number) => fail(new ThreadExitedError(options.name, `it exited with code ${code}`));
      w.on('message', onMessage);
      w.on('messageerror', onMessageError);
      w.on('error', onError);
      w.on('exit', onExit);
      abort = fail;
      try {
        w.postMessage(input);
      } catch (err) {
        // An input that does not clone is the caller's bug; the thread never saw it.
        finish();
        reject(err as Error);
      }
    });
  }

  return {
    run(input) {
      const result = tail.then(() => runOne(input));
      tail = result.catch(() => undefined);
      return result;
    },
    async close() {
      closed = true;
      abort?.(new ThreadExitedError(options.name, 'the runner was closed'));
      const w = thread;
      thread = null;
      await w?.terminate();
    },
  };
}
