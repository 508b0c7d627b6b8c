import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { CLI } from '../support/cli';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';

const RECIPIENTS = 20;
/**
 * The worker's claim on a job, unrenewed (TOCSIN_JOB_LOCK_MS); BullMQ renews it every half of
 * that. Short, so that a claim dropped while stopping lapses within the test; well above the
 * minimum, so that a busy machine delaying a renewal does not lapse a healthy worker's claim.
 */
const LOCK_MS = 3_000;
/**
 * Renewals to see while stopping, half a claim apart: three mean the worker still held its job and
 * its sends a whole claim length after SIGTERM.
 */
const RENEWALS_WHILE_STOPPING = 3;

/**
 * A partner that holds every answer until released, so a test knows sends are in flight.
 * Counts requests that arrived and requests it answered.
 */
async function startGatedPartner() {
  let open: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (open = resolve));
  const arrived: string[] = [];
  const answered: string[] = [];
  const server = http.createServer((req, res) => {
    arrived.push(req.url ?? '/');
    req.resume();
    // Counted once the answer went out on a live connection, not merely written to a dead one.
    res.on('finish', () => answered.push(req.url ?? '/'));
    void released.then(() => res.writeHead(204).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p: string) => `http://127.0.0.1:${port}${p}`,
    arrived,
    answered,
    release: () => open(),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Resolves once every claim (a BullMQ job lock) has been renewed `times` times, a renewal being
 * its remaining time going up between two looks. Fails at once when a claim lapses (another
 * worker would take the job over and send it again) or the worker exits, saying which.
 */
async function claimsRenewed(redis: Redis, lockKeys: readonly string[], times: number, worker: ChildProcess): Promise<void> {
  const last = new Map<string, number>();
  const renewals = new Map<string, number>();
  await eventually(
    async () => {
      if (worker.exitCode !== null || worker.signalCode !== null) {
        throw new Error(`the worker exited (${worker.exitCode ?? worker.signalCode}) while its sends were still held`);
      }
      for (const key of lockKeys) {
        const remaining = await redis.pttl(key);
        if (remaining < 0) throw new Error(`the claim ${key} lapsed while the worker was stopping: the job was abandoned, to be sent again`);
        if (remaining > (last.get(key) ?? Infinity)) renewals.set(key, (renewals.get(key) ?? 0) + 1);
        last.set(key, remaining);
      }
      return lockKeys.every((key) => (renewals.get(key) ?? 0) >= times);
    },
    30_000,
    `${times} renewals of the worker's claims while stopping`,
  );
}

/**
 * On SIGTERM a `tocsin worker` finishes the job it is running (sends in flight and those queued
 * behind them), records every one, and exits 0: nothing is half-sent and forgotten, and nothing
 * is sent twice. It keeps its claim on the job while it stops, however long the sends take, so
 * the job is completed, not left to be taken over and sent again by another worker.
 */
describe('graceful stop of a worker', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let queue: Queue;
  let redis: Redis;
  let partner: Awaited<ReturnType<typeof startGatedPartner>>;
  let stopWorker: () => void = () => undefined;

  beforeAll(async () => {
    partner = await startGatedPartner();
  });
  // Hooks run in the order they are declared: the worker, the queue and the partner go before tocsin closes.
  afterAll(async () => {
    stopWorker();
    partner?.release();
    await queue?.close();
    redis?.disconnect();
    await partner?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false }));
  beforeAll(async () => {
    for (let i = 0; i < RECIPIENTS; i++) await tocsin.addWebhook(partner.url(`/r/${i}`));
    queue = new Queue('webhook', { connection: { url: tocsin.config.redisUrl }, prefix: tocsin.config.prefix });
    redis = new Redis(tocsin.config.redisUrl);
  });

  it('finishes and records in-flight sends before exiting 0, with no duplicates', async () => {
    const worker = spawn(process.execPath, [CLI, 'worker'], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: tocsin.config.redisUrl, TOCSIN_QUEUE_PREFIX: tocsin.config.prefix, TOCSIN_ALLOW_PRIVATE_TARGETS: '1', TOCSIN_JOB_LOCK_MS: String(LOCK_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    worker.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = once(worker, 'exit');
    stopWorker = () => worker.kill('SIGKILL');
    await eventually(async () => logs.includes('tocsin workers started'), 15_000, 'worker started');

    const id = uniqueId('STOP');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    // Sends are out and held at the partner (at most four per origin at once; the rest queued).
    await eventually(async () => partner.arrived.length >= 1, 15_000, 'sends in flight');
    const running = await queue.getActive();
    expect(running.map((job) => job.name)).toContain('batch');

    worker.kill('SIGTERM');
    await eventually(async () => logs.includes('stopping: finishing in-flight work'), 10_000, 'worker stopping');
    // Held for longer than a claim lasts unrenewed: a worker that gave up on its sends soon after
    // SIGTERM, or dropped its claim on the job while they ran, fails here.
    await claimsRenewed(redis, running.map((job) => queue.toKey(`${job.id}:lock`)), RENEWALS_WHILE_STOPPING, worker);
    // The worker is stopping but still holds its sends: none was abandoned or recorded early.
    expect(worker.exitCode).toBeNull();
    expect((await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.summary.delivered).toBe(0);

    partner.release();
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    const summary = (await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.summary;
    expect(summary).toEqual({ pending: 0, delivered: RECIPIENTS, retrying: 0, failed: 0 });
    expect(partner.answered).toHaveLength(RECIPIENTS);
    expect(new Set(partner.arrived).size).toBe(RECIPIENTS);
    // Nothing left behind for a later worker to send again: every job it ran is completed.
    expect(await queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'waiting-children')).toEqual({
      active: 0,
      wait: 0,
      delayed: 0,
      prioritized: 0,
      'waiting-children': 0,
    });
    for (const job of running) expect(await queue.getJobState(job.id!)).toBe('completed');
  });
});
