import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { freePort } from '../support/free-port';
import { sleep } from './bounded';

/** `start` is API and workers in one process; `serve` the API only; `worker` the workers only. */
export type TocsinVerb = 'start' | 'serve' | 'worker';

export interface TocsinProcessOptions {
  verb: TocsinVerb;
  /** How the report names it: `start`, `serve`, `worker 1`, ... */
  label: string;
  /** Its whole environment but PATH and, for an API, PORT and TOCSIN_HOST. */
  env: Record<string, string>;
  cpuProfileDir: string | undefined;
}

export interface TocsinProcess {
  label: string;
  /** The API's base URL; null for a `worker`, which has none. */
  url: string | null;
  pid: number;
  /** Resident set (VmRSS) now, in bytes. */
  rssBytes(): Promise<number>;
  /** Peak resident set (VmHWM) so far, in bytes. */
  peakRssBytes(): Promise<number>;
  /** Resets VmHWM to the RSS of now (clear_refs 5), so that a later peak is of what follows; false if Linux refused. */
  resetPeakRss(): Promise<boolean>;
  /** CPU time used so far, user + system, in seconds. */
  cpuSeconds(): Promise<number>;
  /** Set once it has exited: a bench that keeps waiting on a dead tocsin learns it at once. */
  exitReason(): string | null;
  /** The last lines it wrote, for a failure report. */
  outputTail(): string;
  /** Messages of the warn-or-worse log lines it wrote, but for the expected development-key notice. */
  warnings(): string[];
  /** SIGTERM (it finishes in-flight work), then SIGKILL if it lingers. */
  stop(): Promise<void>;
}

const CLI = path.resolve(__dirname, '../../src/cli.js');
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 15_000;
const OUTPUT_TAIL_BYTES = 64 * 1024;
/** Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat; 100 on every mainstream build. */
const CLOCK_TICKS_PER_SECOND = 100;

async function procField(pid: number, file: 'status' | 'stat'): Promise<string> {
  return readFile(`/proc/${pid}/${file}`, 'utf8');
}

async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(await procField(pid, 'status'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/**
 * Every bench run makes a fresh key dir, with the publisher's key put there as a file, so tocsin
 * always warns that it made a development key and that a publisher key appeared without the API.
 */
const EXPECTED_WARNING = /CREATED A DEVELOPMENT BROADCASTER KEY|TOCSIN_BENCH_RECEIPTS_OFF IS SET|publisher key appeared in the keys directory without the admin API/;
const MAX_WARNINGS_KEPT = 20;

/**
 * Starts `node dist/src/cli.js <verb>` as its own process, as an operator would. An API (`start`,
 * `serve`) is waited for until /readyz answers 200; a `worker` has no door to knock on, so the
 * caller waits until Redis lists it (tocsin-run.ts).
 */
export async function startTocsinProcess(options: TocsinProcessOptions): Promise<TocsinProcess> {
  const port = options.verb === 'worker' ? null : await freePort();
  // A clean environment: a TOCSIN_* variable left in the caller's shell must not skew the run.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...options.env, ...(port === null ? {} : { PORT: String(port), TOCSIN_HOST: '127.0.0.1' }) };
  const nodeFlags = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.cpuProfileDir)}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, CLI, options.verb], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const name = `tocsin ${options.label}`;

  let tail = '';
  let partialLine = '';
  const warnings: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-OUTPUT_TAIL_BYTES);
    const lines = (partialLine + text).split('\n');
    partialLine = (lines.pop() ?? '').slice(-OUTPUT_TAIL_BYTES);
    for (const line of lines) {
      if (line.trim() === '' || EXPECTED_WARNING.test(line) || warnings.length >= MAX_WARNINGS_KEPT) continue;
      // pino writes JSON lines; anything else on its stdout or stderr (a crash, a Node warning) counts too.
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: string | { message?: string } };
        // The error's text too: "could not move receipts to disk" alone does not say why.
        const err = typeof entry.err === 'string' ? entry.err : entry.err?.message;
        if ((entry.level ?? 0) >= 40) warnings.push(`${entry.msg ?? line}${err ? ` (${err})` : ''}`);
      } catch {
        warnings.push(line);
      }
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitReason: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name}`);

  const url = port === null ? null : `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exitReason !== null) return;
    child.kill('SIGTERM');
    const timer = sleep(STOP_GRACE_MS);
    await Promise.race([exited, timer]);
    if (exitReason === null) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(5_000)]);
    }
  };

  if (url !== null) {
    try {
      await untilReady(url, () => exitReason, () => tail, name);
    } catch (err) {
      await stop();
      throw err;
    }
  }

  return {
    label: options.label,
    url,
    pid,
    rssBytes: () => statusKiB(pid, 'VmRSS'),
    peakRssBytes: () => statusKiB(pid, 'VmHWM'),
    resetPeakRss: () => writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false),
    async cpuSeconds() {
      // Fields after the parenthesised command name, which may itself hold spaces.
      const stat = await procField(pid, 'stat');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    },
    exitReason: () => exitReason,
    outputTail: () => tail,
    warnings: () => [...warnings],
    stop,
  };
}

/** Polls the API's /readyz until 200; fails at once if the process has exited. */
async function untilReady(url: string, exitReason: () => string | null, tail: () => string, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const reason = exitReason();
    if (reason !== null) throw new Error(`${name} ${reason} before it was ready:\n${tail()}`);
    const status = await request(`${url}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 }).then(
      async (r) => {
        await r.body.dump();
        return r.statusCode;
      },
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS} ms:\n${tail()}`);
    await sleep(100);
  }
}
