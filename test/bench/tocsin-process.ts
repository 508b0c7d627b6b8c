import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { sleep } from './bounded';

export interface TocsinProcessOptions {
  publisherKey: string;
  adminToken: string;
  prefix: string;
  concurrency: number;
  batchSize: number;
  cpuProfileDir: string | undefined;
  nodeOptions: string | undefined;
  /** False: TOCSIN_BENCH_RECEIPTS_OFF, the run that measures what durable receipts cost. */
  receipts: boolean;
}

export interface TocsinProcess {
  url: string;
  pid: number;
  /** The temporary directory holding its data and keys; the caller removes it. */
  root: string;
  /** Resident set (VmRSS) now, in bytes. */
  rssBytes(): Promise<number>;
  /** Peak resident set (VmHWM) so far, in bytes. */
  peakRssBytes(): Promise<number>;
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

/** A port the kernel just had free on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

async function procField(pid: number, file: 'status' | 'stat'): Promise<string> {
  return readFile(`/proc/${pid}/${file}`, 'utf8');
}

async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(await procField(pid, 'status'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** Every bench run makes a fresh key dir, so tocsin always warns that it made a development key. */
const EXPECTED_WARNING = /CREATED A DEVELOPMENT BROADCASTER KEY|TOCSIN_BENCH_RECEIPTS_OFF IS SET/;
const MAX_WARNINGS_KEPT = 20;

/**
 * Starts `node dist/src/cli.js start` as its own process, as an operator would, on a fresh data
 * and keys directory, and waits for /readyz.
 */
export async function startTocsinProcess(options: TocsinProcessOptions): Promise<TocsinProcess> {
  const root = await mkdtemp(path.join(tmpdir(), 'tocsin-bench-'));
  const keysDir = path.join(root, 'keys');
  await mkdir(path.join(keysDir, 'publishers'), { recursive: true });
  await writeFile(path.join(keysDir, 'publishers', 'publisher.asc'), options.publisherKey);
  const port = await freePort();
  // A clean environment: a TOCSIN_* variable left in the caller's shell must not skew the run.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PORT: String(port),
    TOCSIN_HOST: '127.0.0.1',
    REDIS_URL: 'redis://127.0.0.1:6379',
    TOCSIN_DATA_DIR: path.join(root, 'data'),
    TOCSIN_KEYS_DIR: keysDir,
    TOCSIN_ADMIN_TOKEN: options.adminToken,
    TOCSIN_ALLOW_PRIVATE_TARGETS: '1',
    TOCSIN_QUEUE_PREFIX: options.prefix,
    TOCSIN_WEBHOOK_CONCURRENCY: String(options.concurrency),
    TOCSIN_FANOUT_BATCH_SIZE: String(options.batchSize),
    LOG_LEVEL: 'warn',
    ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
    ...(options.receipts ? {} : { TOCSIN_BENCH_RECEIPTS_OFF: '1' }),
  };
  const nodeFlags = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.cpuProfileDir)}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });

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
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        if ((entry.level ?? 0) >= 40) warnings.push(entry.msg ?? line);
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
  if (pid === undefined) throw new Error('could not start tocsin');

  const url = `http://127.0.0.1:${port}`;
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

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitReason !== null) throw new Error(`tocsin ${exitReason} before it was ready:\n${tail}`);
      const status = await request(`${url}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 }).then(
        async (r) => {
          await r.body.dump();
          return r.statusCode;
        },
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`tocsin was not ready within ${READY_TIMEOUT_MS} ms:\n${tail}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    pid,
    root,
    rssBytes: () => statusKiB(pid, 'VmRSS'),
    peakRssBytes: () => statusKiB(pid, 'VmHWM'),
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
