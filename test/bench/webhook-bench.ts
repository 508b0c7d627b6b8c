import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { request } from 'undici';
import { generateWebhookSecret } from '../../src/channels/standard-webhooks';
import { parseBenchOptions, USAGE, type BenchOptions } from './bench-options';
import { benchAdvisoryId, benchAdvisoryText, createBenchPublisher } from './bench-publisher';
import { judge, printReport, processesName, type BenchResult } from './bench-report';
import { fanOutTimeoutMs, pollUntil, sleep } from './bounded';
import { enrolRecipients } from './enrol-recipients';
import { machineCpu, machineCpuSince } from './machine-load';
import { startLoopbackReceivers, type LoopbackReceivers } from './loopback-receivers';
import { runPlainClient } from './plain-client';
import type { PhaseStats } from './receiver-protocol';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { redisCpuSeconds } from './redis-cpu';
import { BENCH_REDIS_URL, cpuSince, figuresSince, markBeforeSubmission, startTocsinRun, type TocsinRun } from './tocsin-run';
import { wallClockMs } from './wall-clock';

/**
 * `npm run bench`: one signed advisory to N webhook receivers on loopback, timed from submission
 * to the last delivery, against a queue-less client doing the same POSTs in the same run.
 */

const SUMMARY_TIMEOUT_MS = 30_000;
const STATS_POLL_MS = 50;
const WEBHOOK_TIMEOUT_MS = 10_000;

const log = (message: string) => console.log(`bench: ${message}`);

/** Undone in reverse order whatever happens, Ctrl-C included. */
const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | null = null;
let interrupted = false;
/** One pass only: a signal and the normal exit path may both ask, and steps must stay in order. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      await cleanups.pop()?.().catch((err: unknown) => console.error(`bench: cleanup step failed: ${(err as Error).message}`));
    }
  })();
  return cleaning;
}

async function call(url: string, method: 'GET' | 'POST', body?: unknown) {
  const res = await request(url, {
    method,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) as any };
}

/** Waits for every receiver to have seen the advisory; gives up early if a tocsin process died. */
async function awaitAllDelivered(receivers: LoopbackReceivers, tocsin: TocsinRun, total: number): Promise<PhaseStats> {
  let last: PhaseStats | undefined;
  try {
    return await pollUntil(
      async () => {
        const dead = tocsin.failure();
        if (dead !== null) throw new Error(`${dead}\n(during delivery)`);
        last = await receivers.stats();
        return last.distinct >= total ? last : undefined;
      },
      fanOutTimeoutMs(total),
      STATS_POLL_MS,
      `delivery to all ${total} receivers`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message} (received by ${last?.distinct ?? 0})`, { cause: err });
  }
}

type DeliverySummary = BenchResult['tocsin']['summary'];

async function deliverySummary(apiUrl: string, id: string): Promise<DeliverySummary> {
  return (await call(`${apiUrl}/v1/advisories/${id}/deliveries`, 'GET')).json().summary as DeliverySummary;
}

/**
 * The receivers' URLs in the order tocsin sent to them: its delivery list's (the audience's, by
 * recipient id). The yardstick must post in that order too. In enrolment order, consecutive
 * requests reach the same receiver process, which then serves many per wake-up: at 100,000 the
 * plain client measured 2,903/s in that order and 1,867/s in a shuffled one (receivers 0.265 and
 * 0.488 CPU-ms per request), a locality tocsin's order, like real partners, never has.
 */
async function deliveryOrder(apiUrl: string, adminToken: string, id: string, total: number): Promise<string[]> {
  const get = async (path: string) => {
    const res = await request(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${adminToken}` }, headersTimeout: 60_000, bodyTimeout: 60_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode} ${text.slice(0, 500)}`);
    return JSON.parse(text) as any;
  };
  const urlOf = new Map<string, string>();
  for (const r of (await get('/v1/recipients')).recipients as { id: string; url: string }[]) urlOf.set(r.id, r.url);
  const order = ((await get(`/v1/advisories/${id}/deliveries`)).deliveries as { recipient: string }[]).map((d) => urlOf.get(d.recipient));
  if (order.length !== total || order.some((u) => u === undefined)) throw new Error(`delivery list names ${order.length} known recipients, not ${total}`);
  return order as string[];
}

/** tocsin from enrolment to its last delivery; it is stopped before this returns. */
async function measureTocsin(options: BenchOptions, receivers: LoopbackReceivers) {
  const n = options.recipients;
  const publisher = await createBenchPublisher();
  const prefix = `bench-${randomBytes(5).toString('hex')}`;
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  cleanups.push(() => deleteRedisPrefix(BENCH_REDIS_URL, prefix));
  log(`starting ${processesName(options.workers)} (queue prefix ${prefix})`);
  const tocsin = await startTocsinRun({
    publisherKey: publisher.armoredPublicKey,
    adminToken,
    prefix,
    workers: options.workers,
    channel: 'webhook',
    env: { TOCSIN_WEBHOOK_CONCURRENCY: String(options.concurrency), TOCSIN_FANOUT_BATCH_SIZE: String(options.batchSize) },
    cpuProfileDir: options.cpuProfileDir,
    nodeOptions: options.nodeOptions,
    workerNodeOptions: options.workerNodeOptions,
    receipts: options.receipts,
  });
  cleanups.push(() => tocsin.stop());

  log(`enrolling ${n} recipients by one import`);
  const enrolSeconds = await enrolRecipients(
    tocsin.url,
    adminToken,
    receivers.urls.map((url) => ({ type: 'webhook', url, secret: generateWebhookSecret() })),
  );

  const id = benchAdvisoryId();
  const document = benchAdvisoryText(id);
  const signature = await publisher.sign(document);
  await receivers.startPhase('tocsin');
  const mark = await markBeforeSubmission(tocsin);
  const [redisBefore, machineBefore] = [await redisCpuSeconds(BENCH_REDIS_URL), await machineCpu()];

  log(`publishing ${id}`);
  const submittedAt = wallClockMs();
  const accepted = await call(`${tocsin.url}/v1/advisories`, 'POST', { document, signatures: [signature] });
  const acceptMs = wallClockMs() - submittedAt;
  if (accepted.status !== 202) throw new Error(`submission answered ${accepted.status}: ${accepted.text}`);
  const seen = await awaitAllDelivered(receivers, tocsin, n);
  const [cpu, redisAfter, machineAfter] = [await cpuSince(mark), await redisCpuSeconds(BENCH_REDIS_URL), await machineCpu()];
  log(`all ${n} received; checking the delivery summary`);

  // States are written in chunks after the sends, so the API may lag the receivers briefly; past
  // the deadline the summary is reported as it stands.
  const summary = await pollUntil(
    async () => {
      const s = await deliverySummary(tocsin.url, id);
      return s.delivered + s.failed >= n ? s : undefined;
    },
    SUMMARY_TIMEOUT_MS,
    200,
    'a settled delivery summary',
  ).catch(() => deliverySummary(tocsin.url, id));
  const processes = await figuresSince(mark, cpu);
  const warnings = tocsin.warnings();
  // Read after the figures, so this read is charged to nothing measured.
  const order = await deliveryOrder(tocsin.url, adminToken, id, n);
  log('stopping tocsin before the plain client, so the two never share the CPUs');
  await tocsin.stop();

  const firstAt = seen.firstAt ?? NaN;
  const lastAt = seen.lastAt ?? NaN;
  const figures: Omit<BenchResult['tocsin'], 'cpuMsPerDelivery'> = {
    acceptMs,
    firstDeliveryMs: firstAt - submittedAt,
    lastDeliveryMs: lastAt - submittedAt,
    deliveriesPerSecond: n / ((lastAt - submittedAt) / 1000),
    deliveriesPerSecondAfterFirst: n / ((lastAt - firstAt) / 1000),
    requests: seen.requests,
    duplicates: seen.duplicates,
    misrouted: seen.misrouted,
    summary,
    rssBeforeBytes: Math.max(...processes.map((p) => p.rssBeforeBytes)),
    peakRssBytes: Math.max(...processes.map((p) => p.peakRssBytes)),
    processes,
    warnings,
    cpuSeconds: processes.reduce((sum, p) => sum + p.cpuSeconds, 0),
    redisCpuSeconds: redisAfter - redisBefore,
    receiversCpuSeconds: seen.cpuSeconds,
    machine: machineCpuSince(machineBefore, machineAfter),
  };
  if (!seen.sample) throw new Error('receivers kept no sample request');
  return { figures, enrolSeconds, sample: seen.sample, order };
}

/** The queue-less yardstick, over the same receivers in tocsin's order, with tocsin's very body. */
async function measurePlain(
  options: BenchOptions,
  receivers: LoopbackReceivers,
  urls: readonly string[],
  sample: { headers: Record<string, string>; body: string },
) {
  await receivers.startPhase('plain');
  log(`plain client: ${options.recipients} POSTs of ${Buffer.byteLength(sample.body)} bytes, concurrency ${options.concurrency}`);
  const [driverCpu, machineBefore] = [process.cpuUsage(), await machineCpu()];
  const plain = await runPlainClient({
    urls,
    body: sample.body,
    webhookId: `msg_${randomBytes(16).toString('hex')}`,
    userAgent: sample.headers['user-agent'] ?? 'tocsin-bench',
    concurrency: options.concurrency,
    timeoutMs: WEBHOOK_TIMEOUT_MS,
  });
  const [clientCpu, machineAfter] = [process.cpuUsage(driverCpu), await machineCpu()];
  const seen = await receivers.stats();
  const seconds = (plain.finishedAt - plain.startedAt) / 1000;
  const figures: Omit<BenchResult['plain'], 'cpuMsPerDelivery'> = {
    seconds,
    deliveriesPerSecond: plain.succeeded / seconds,
    succeeded: plain.succeeded,
    failed: plain.failed,
    firstError: plain.firstError,
    receivedDistinct: seen.distinct,
    duplicates: seen.duplicates,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
    receiversCpuSeconds: seen.cpuSeconds,
    machine: machineCpuSince(machineBefore, machineAfter),
  };
  return figures;
}

async function run(options: BenchOptions): Promise<BenchResult> {
  log(`starting ${options.recipients} loopback receivers`);
  const receivers = await startLoopbackReceivers(options.recipients);
  cleanups.push(() => receivers.close());
  const tocsin = await measureTocsin(options, receivers);
  // Let the receivers finish closing tocsin's connections, so that work is not charged to the plain client.
  await sleep(1_000);
  const plain = await measurePlain(options, receivers, tocsin.order, tocsin.sample);
  return judge({
    recipients: options.recipients,
    concurrency: options.concurrency,
    batchSize: options.batchSize,
    cpus: os.availableParallelism(),
    enrolSeconds: tocsin.enrolSeconds,
    bodyBytes: Buffer.byteLength(tocsin.sample.body),
    tocsin: tocsin.figures,
    plain,
  });
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`bench: ${signal}: cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    const result = await run(options);
    printReport(options, result);
    return 0;
  } catch (err) {
    // After Ctrl-C the run fails in whatever it was waiting on; that is not news.
    if (!interrupted) console.error(`bench: broken: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await cleanUp();
  }
}

void main().then((code) => process.exit(code));
