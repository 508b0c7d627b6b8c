import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { ChannelName } from '../../src/channels/channel-names';
import { pollUntil } from './bounded';
import { startTocsinProcess, type TocsinProcess } from './tocsin-process';

export const BENCH_REDIS_URL = 'redis://127.0.0.1:6379';
const WORKERS_TIMEOUT_MS = 30_000;

export interface TocsinRunOptions {
  publisherKey: string;
  adminToken: string;
  prefix: string;
  /** 0: one `tocsin start`. N: one `tocsin serve` and N `tocsin worker`, on one prefix, data and keys dir. */
  workers: number;
  /** The channel the bench sends on: its queue is where the workers are counted. */
  channel: ChannelName;
  /** The channel's settings (concurrency, batch size, SMTP relay), the same for every process. */
  env: Record<string, string>;
  cpuProfileDir: string | undefined;
  /** Extra node flags for every tocsin process (their NODE_OPTIONS). */
  nodeOptions: string | undefined;
  /** The workers' NODE_OPTIONS instead of `nodeOptions`, as docker-compose sets them apart. */
  workerNodeOptions?: string | undefined;
  /** False: TOCSIN_BENCH_RECEIPTS_OFF, the run that measures what durable receipts cost. */
  receipts: boolean;
}

/** The tocsin processes of one bench run. */
export interface TocsinRun {
  /** The API's base URL (`start` or `serve`). */
  url: string;
  /** `start`, or `serve` then `worker 1` .. `worker N`. */
  processes: TocsinProcess[];
  /** Why one of them has exited, with its output; null while all run. */
  failure(): string | null;
  /** Each process's warnings, its label first. */
  warnings(): string[];
  /** Stops them all, then removes the data and keys directory. */
  stop(): Promise<void>;
}

/**
 * Starts tocsin as an operator would, on a fresh data and keys directory, and resolves once the API
 * answers /readyz and Redis lists as many workers on the channel's queue as were started: the
 * advisory must not be submitted to a fleet still starting up.
 */
export async function startTocsinRun(options: TocsinRunOptions): Promise<TocsinRun> {
  const root = await mkdtemp(path.join(tmpdir(), 'tocsin-bench-'));
  const keysDir = path.join(root, 'keys');
  await mkdir(path.join(keysDir, 'publishers'), { recursive: true });
  await writeFile(path.join(keysDir, 'publishers', 'publisher.asc'), options.publisherKey);
  const env: Record<string, string> = {
    REDIS_URL: BENCH_REDIS_URL,
    TOCSIN_DATA_DIR: path.join(root, 'data'),
    TOCSIN_KEYS_DIR: keysDir,
    TOCSIN_ADMIN_TOKEN: options.adminToken,
    TOCSIN_ALLOW_PRIVATE_TARGETS: '1',
    TOCSIN_QUEUE_PREFIX: options.prefix,
    LOG_LEVEL: 'warn',
    ...options.env,
    ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
    ...(options.receipts ? {} : { TOCSIN_BENCH_RECEIPTS_OFF: '1' }),
  };
  const processes: TocsinProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await rm(root, { recursive: true, force: true });
  };
  const failure = () => {
    const dead = processes.find((p) => p.exitReason() !== null);
    return dead ? `tocsin ${dead.label} ${dead.exitReason()}:\n${dead.outputTail()}` : null;
  };
  const { cpuProfileDir } = options;
  try {
    // The API first: on a fresh keys dir it makes the broadcaster key that the workers then read.
    const api = await startTocsinProcess({ verb: options.workers === 0 ? 'start' : 'serve', label: options.workers === 0 ? 'start' : 'serve', env, cpuProfileDir });
    processes.push(api);
    const workerEnv = options.workerNodeOptions ? { ...env, NODE_OPTIONS: options.workerNodeOptions } : env;
    for (let i = 1; i <= options.workers; i++) processes.push(await startTocsinProcess({ verb: 'worker', label: `worker ${i}`, env: workerEnv, cpuProfileDir }));
    await awaitWorkers(options, Math.max(1, options.workers), failure);
    return { url: api.url as string, processes, failure, warnings: () => processes.flatMap((p) => p.warnings().map((w) => `${p.label}: ${w}`)), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `work`'s outcome, or a rejection as soon as a tocsin process of the run has exited. */
export async function unlessTocsinDies<T>(run: TocsinRun, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const dead = run.failure();
      if (dead !== null) reject(new Error(dead));
    }, 200);
  });
  try {
    return await Promise.race([work, died]);
  } finally {
    clearInterval(timer);
  }
}

/** Waits, bounded, until BullMQ sees `count` workers on the channel's queue. */
async function awaitWorkers(options: TocsinRunOptions, count: number, failure: () => string | null): Promise<void> {
  const queue = new Queue(options.channel, { connection: { url: BENCH_REDIS_URL }, prefix: options.prefix });
  try {
    await pollUntil(
      async () => {
        const dead = failure();
        if (dead !== null) throw new Error(`${dead} (before all workers were up)`);
        return (await queue.getWorkersCount()) >= count ? true : undefined;
      },
      WORKERS_TIMEOUT_MS,
      100,
      `${count} ${options.channel} worker${count === 1 ? '' : 's'} connected`,
    );
  } finally {
    await queue.close();
  }
}

/** One tocsin process's share of a run. */
export interface TocsinProcessFigures {
  label: string;
  /** VmHWM over its whole life, enrolment included: the figure the 256 MiB target is about. */
  peakRssBytes: number;
  /** VmHWM up to submission: start-up and enrolment (the import). */
  peakBeforeSubmissionBytes: number;
  /** VmHWM from submission on (the mark reset just before it); null if Linux refused the reset. */
  peakDuringDeliveryBytes: number | null;
  /** VmRSS just before submission, recipients enrolled. */
  rssBeforeBytes: number;
  /** User + system CPU from submission to the last delivery. */
  cpuSeconds: number;
}

type Mark = { tocsin: TocsinProcess; peak: number; rss: number; cpu: number; reset: boolean }[];

/** Reads every process just before submission, then resets its peak so that the delivery's own shows. */
export async function markBeforeSubmission(run: TocsinRun): Promise<Mark> {
  return Promise.all(
    run.processes.map(async (p) => {
      const [peak, rss, cpu] = [await p.peakRssBytes(), await p.rssBytes(), await p.cpuSeconds()];
      return { tocsin: p, peak, rss, cpu, reset: await p.resetPeakRss() };
    }),
  );
}

/** Every process's CPU seconds since the mark, in the order of `run.processes`. */
export async function cpuSince(mark: Mark): Promise<number[]> {
  return Promise.all(mark.map(async ({ tocsin, cpu }) => (await tocsin.cpuSeconds()) - cpu));
}

/**
 * Every process's figures: peaks read now, CPU as `cpuSince` read it at the last delivery (what
 * comes after, the summary's reads, is no delivery's cost).
 */
export async function figuresSince(mark: Mark, cpu: number[]): Promise<TocsinProcessFigures[]> {
  return Promise.all(
    mark.map(async ({ tocsin, peak, rss, reset }, i) => {
      const peakNow = await tocsin.peakRssBytes();
      return {
        label: tocsin.label,
        peakRssBytes: Math.max(peak, peakNow),
        peakBeforeSubmissionBytes: peak,
        peakDuringDeliveryBytes: reset ? peakNow : null,
        rssBeforeBytes: rss,
        cpuSeconds: cpu[i] ?? NaN,
      };
    }),
  );
}
