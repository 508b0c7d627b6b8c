import { parentPort } from 'node:worker_threads';

/** What a worker thread answers for one task: its result, or what went wrong, as plain data. */
export type ThreadReply<Out> = { ok: true; value: Out } | { ok: false; error: { name: string; message: string; stack?: string } };

function describe(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  return { name: 'Error', message: String(err) };
}

/**
 * The body of a worker thread script: runs `handler` for every task the parent sends and posts
 * back a {@link ThreadReply}. Inputs and results cross the thread boundary by structured clone,
 * so they are plain data (strings, arrays, plain objects, Maps, Dates), never class instances
 * such as OpenPGP keys.
 */
export function serveThread<In, Out>(handler: (input: In) => Promise<Out>): void {
  const port = parentPort;
  if (!port) throw new Error('this script runs in a worker thread (see util/thread-runner.ts), not on its own');
  port.on('message', (input: In) => {
    handler(input).then(
      (value) => {
        try {
          port.postMessage({ ok: true, value } satisfies ThreadReply<Out>);
        } catch (err) {
          // A result that cannot be cloned is a bug of the handler: say so rather than go silent.
          port.postMessage({ ok: false, error: describe(err) } satisfies ThreadReply<Out>);
        }
      },
      (err: unknown) => port.postMessage({ ok: false, error: describe(err) } satisfies ThreadReply<Out>),
    );
  });
}
