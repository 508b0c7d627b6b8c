import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { CLI } from '../support/cli';

/** The last this many characters of a child's output are kept, to explain a failure. */
const LOG_TAIL = 64 * 1024;

export interface TocsinChildOptions {
  /**
   * Told every whole line the child writes to stdout (its log lines), over every start: for a
   * test that reads more of the log than the tail {@link TocsinChild.log} keeps.
   */
  onLine?: (line: string) => void;
}

/**
 * One `tocsin serve` or `tocsin worker` run as a child process, as an operator runs it, that a
 * test can SIGKILL and start again with the same environment. Waits for the line that says it
 * is up, never for a fixed time.
 */
export function tocsinChild(verb: 'serve' | 'worker', env: Record<string, string>, readyLine: string, options: TocsinChildOptions = {}) {
  let child: ChildProcess | null = null;
  let log = '';
  let starts = 0;

  async function start(timeoutMs = 20_000): Promise<void> {
    if (child) throw new Error(`tocsin ${verb} is already running`);
    starts += 1;
    const c = spawn(process.execPath, [CLI, verb], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const append = (d: Buffer) => {
      log = (log + d.toString()).slice(-LOG_TAIL);
    };
    c.stdout!.on('data', append);
    c.stderr!.on('data', append);
    const { onLine } = options;
    if (onLine) {
      // A line (or a character) may arrive in two chunks; what follows the last newline waits for the rest.
      const decoder = new StringDecoder('utf8');
      let partial = '';
      c.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + decoder.write(d)).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
    c.once('exit', () => {
      if (child === c) child = null;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`tocsin ${verb} did not say "${readyLine}" within ${timeoutMs} ms:\n${log.slice(-4000)}`));
      }, timeoutMs);
      let seen = '';
      const onData = (d: Buffer) => {
        seen = (seen + d.toString()).slice(-LOG_TAIL);
        if (seen.includes(readyLine)) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`tocsin ${verb} exited (${code}) before it was ready:\n${log.slice(-4000)}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        c.stdout!.off('data', onData);
        c.off('exit', onExit);
      };
      c.stdout!.on('data', onData);
      c.once('exit', onExit);
    });
  }

  /** SIGKILL: no chance to finish or record anything, as in a crash or an OOM kill. */
  async function kill(): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) {
      child = null;
      return;
    }
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
    child = null;
  }

  return {
    start,
    kill,
    running: () => child !== null,
    starts: () => starts,
    log: () => log,
  };
}
export type TocsinChild = ReturnType<typeof tocsinChild>;
