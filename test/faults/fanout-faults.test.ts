import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { mapWithConcurrency } from '../bench/bounded';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';
import { gpgVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startPrivateRedis } from '../support/private-redis';
import { startPartnerFleet, type PartnerFleet, type PartnerKind } from './partner-fleet';
import { faultSeed, seededRandom } from './seeded-random';
import { tocsinChild, type TocsinChild } from './tocsin-children';

const RECIPIENTS = 2_400;
const SERVERS = 8;
const WORKERS = 2;
const ADVISORIES = 3;
/** Every fault kind, each at least this often; the schedule shuffles them over the advisories. */
const FAULTS = ['worker', 'worker', 'worker', 'worker', 'redis', 'redis', 'api', 'api'] as const;
type Fault = (typeof FAULTS)[number];
const ADMIN_TOKEN = 'fault-suite-admin-token-0123456789';
/** Everything must be delivered or failed this long after the last fault, or something is stuck. */
const SETTLE_TIMEOUT_MS = 120_000;
const BATCH_SIZE = 200;
const WEBHOOK_CONCURRENCY = 64;
/**
 * Recipients one worker process holds at once: its batch jobs in hand (workers/delivery-worker.ts
 * runs max(4, 2 x concurrency / batch size) of them) times the batch size. A killed worker can
 * have sent to any of them without recording it; a Redis wiped under a worker leaves its batches
 * running in memory while recovery queues the same recipients again.
 */
const IN_HAND_PER_WORKER = Math.max(4, Math.ceil((WEBHOOK_CONCURRENCY / BATCH_SIZE) * 2)) * BATCH_SIZE;
/** A `delivered` recorded longer than this before a Redis loss is on disk (receipts): it must never be sent again. */
const DURABLE_AFTER_MS = 2_000;
/**
 * A worker writes its states at most half a second after each answer (workers/delivery-processor.ts):
 * an answer this long before a worker was killed may never have been recorded at all, and is sent
 * again when its batch runs again (a worker kill's duplicate, not a lost receipt).
 */
const UNRECORDED_BEFORE_KILL_MS = 1_000;

interface Delivery {
  recipient: string;
  state: string;
  attempts: number;
  last_error?: string;
}

/**
 * The proof behind "at least once, never lost": thousands of webhook partners, real signed
 * advisories, and while they fan out, seeded faults at random points: worker processes
 * SIGKILLed and restarted, Redis killed (all its data lost) and restarted, the API killed and
 * restarted. Afterwards every partner that could be reached has the notice, every copy of one
 * advisory carries the same webhook-id, and every recipient's recorded state is the right one.
 * Replay a run with TOCSIN_FAULT_SEED=<seed printed>.
 */
describe('fan-out under faults', () => {
  const seed = faultSeed();
  const rng = seededRandom(seed);
  let root: string;
  const publisher = useGpgPublisher('faults@example.org');
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let fleet: PartnerFleet;
  let api: TocsinChild;
  let workers: TocsinChild[] = [];
  let apiUrl: string;
  const counts = { worker: 0, redis: 0, api: 0 };
  const timeline: string[] = [];
  /** Every moment Redis lost its data, and every moment a worker was killed. */
  const losses: { at: number }[] = [];
  const workerKills: number[] = [];
  /** How many duplicates the faults so far may honestly cause (see `inject` and `loseRedis`). */
  let allowance = 0;

  const note = (what: string) => timeline.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
  const call = async (method: string, p: string, body?: unknown, admin = false) => {
    const res = await fetch(`${apiUrl}${p}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(admin ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: (text.startsWith('{') ? JSON.parse(text) : null) as Record<string, any> };
  };

  beforeAll(async () => {
    process.stdout.write(`faults: seed=${seed} (replay with TOCSIN_FAULT_SEED=${seed})\n`);
    root = await mkdtemp(path.join(tmpdir(), 'tocsin-faults-'));
    await mkdir(path.join(root, 'keys', 'publishers'), { recursive: true });
    await writeFile(path.join(root, 'keys', 'publishers', 'faults.asc'), publisher.armoredPublicKey);
    redis = await startPrivateRedis();

    // One in forty partners retired its endpoint (410), one in forty fails 1-3 times first.
    const behaviours: PartnerKind[] = Array.from({ length: RECIPIENTS }, (_, i) =>
      i % 40 === 7 ? { kind: 'gone' } : i % 40 === 13 ? { kind: 'flaky', failures: rng.int(1, 3) } : { kind: 'ok' },
    );
    fleet = await startPartnerFleet(behaviours, SERVERS);

    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const env = {
      REDIS_URL: redis.url,
      TOCSIN_QUEUE_PREFIX: 'faults',
      TOCSIN_DATA_DIR: path.join(root, 'data'),
      TOCSIN_KEYS_DIR: path.join(root, 'keys'),
      TOCSIN_ALLOW_PRIVATE_TARGETS: '1',
      TOCSIN_RETRY_BASE_MS: '200',
      TOCSIN_RETRY_MAX_MS: '1000',
      // Smaller batches and fewer sends in flight than the defaults: more jobs to interrupt, and a
      // fan-out long enough for faults to land inside it.
      TOCSIN_FANOUT_BATCH_SIZE: String(BATCH_SIZE),
      TOCSIN_WEBHOOK_CONCURRENCY: String(WEBHOOK_CONCURRENCY),
      // A killed worker's batch is taken over within about 6 s instead of up to a minute.
      TOCSIN_JOB_LOCK_MS: '3000',
      LOG_LEVEL: 'info',
    };
    api = tocsinChild('serve', { ...env, PORT: String(port), TOCSIN_HOST: '127.0.0.1', TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, TOCSIN_PUBLIC_URL: apiUrl }, 'tocsin API listening');
    await api.start();
    workers = Array.from({ length: WORKERS }, () => tocsinChild('worker', env, 'tocsin workers started'));

    const ids = await mapWithConcurrency(fleet.partners, 32, async (partner) => {
      const r = await call('POST', '/v1/recipients', { type: 'webhook', url: partner.url, secret: partner.secret }, true);
      if (r.status !== 201) throw new Error(`enrolling ${partner.url}: ${r.status} ${r.text}`);
      return r.json.id as string;
    });
    fleet.partners.forEach((p, i) => recipientOf.set(p.path, ids[i] as string));
    await Promise.all(workers.map((w) => w.start()));
  }, 120_000);

  const recipientOf = new Map<string, string>();

  afterAll(async () => {
    for (const w of workers) await w.kill();
    await api?.kill();
    await redis?.stop();
    await fleet?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function inject(fault: Fault): Promise<void> {
    const pause = rng.int(0, 300);
    if (fault === 'worker') {
      const which = rng.int(0, WORKERS - 1);
      await workers[which]!.kill();
      workerKills.push(Date.now());
      note(`SIGKILL worker ${which}, restart after ${pause} ms`);
      await new Promise((r) => setTimeout(r, pause));
      await workers[which]!.start();
    } else if (fault === 'redis') {
      await loseRedis(pause);
    } else {
      await api.kill();
      note(`SIGKILL api, restart after ${pause} ms`);
      await new Promise((r) => setTimeout(r, pause));
      await api.start();
    }
    counts[fault] += 1;
    // A killed worker may have sent to every recipient in its hands without recording it.
    if (fault === 'worker') allowance += IN_HAND_PER_WORKER;
  }

  /**
   * SIGKILLs Redis (all its data lost) and restarts it. What may honestly be sent again: what the
   * workers hold (their batches go on in memory while recovery queues the same recipients), and
   * the receipts still in the stream, not yet on disk, read just before the kill.
   */
  async function loseRedis(pause: number): Promise<void> {
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const notOnDisk = await probe.xlen('faults:receipts').finally(() => probe.disconnect());
    await redis.kill();
    losses.push({ at: Date.now() });
    allowance += WORKERS * IN_HAND_PER_WORKER + notOnDisk;
    note(`SIGKILL redis (all data lost; ${notOnDisk} receipts not yet on disk), restart after ${pause} ms`);
    await new Promise((r) => setTimeout(r, pause));
    await redis.start();
  }

  /** Waits (bounded) until every recipient of `id` is delivered or failed, and resolves to the deliveries. */
  async function settled(id: string): Promise<Delivery[]> {
    return eventually(
      async () => {
        const r = await call('GET', `/v1/advisories/${id}/deliveries`).catch(() => null);
        if (r?.status !== 200) return null;
        const { pending, retrying } = r.json.summary as Record<string, number>;
        return pending === 0 && retrying === 0 ? (r.json.deliveries as Delivery[]) : null;
      },
      SETTLE_TIMEOUT_MS,
      `${id}: every delivery settled`,
    ).catch(async (err: Error) => {
      const r = await call('GET', `/v1/advisories/${id}/deliveries`).catch(() => null);
      const stuck = ((r?.json?.deliveries ?? []) as Delivery[]).filter((d) => d.state !== 'delivered' && d.state !== 'failed');
      throw new Error(`${err.message}\nsummary ${JSON.stringify(r?.json?.summary)}; first stuck: ${JSON.stringify(stuck.slice(0, 5))}`);
    });
  }

  /** On failure, keeps every process's log and the timeline where a person can read them. */
  async function keepEvidence(err: unknown): Promise<never> {
    const dir = await mkdtemp(path.join(tmpdir(), `tocsin-faults-${seed}-`));
    await writeFile(path.join(dir, 'timeline.txt'), `${timeline.join('\n')}\n`);
    await writeFile(path.join(dir, 'api.log'), api.log());
    for (const [i, w] of workers.entries()) await writeFile(path.join(dir, `worker-${i}.log`), w.log());
    process.stdout.write(`faults: FAILED with seed=${seed}; timeline and logs in ${dir}\n${timeline.join('\n')}\n`);
    throw err;
  }

  it('delivers every notice at least once, with one webhook-id per advisory, and records the right final state', async () => {
    await scenario().catch(keepEvidence);
  }, 300_000);

  async function scenario(): Promise<void> {
    const started = Date.now();
    // Spread the faults over the advisories (each gets at least one), each at a random point of
    // its fan-out: "after the partners have seen N requests for it".
    const schedule: { fault: Fault; at: number }[][] = Array.from({ length: ADVISORIES }, () => []);
    rng.shuffle(FAULTS).forEach((fault, i) => {
      const k = i < ADVISORIES ? i : rng.int(0, ADVISORIES - 1);
      schedule[k]!.push({ fault, at: rng.int(20, Math.floor(RECIPIENTS * 0.9)) });
    });
    for (const s of schedule) s.sort((a, b) => a.at - b.at);

    const advisories: string[] = [];
    for (let k = 0; k < ADVISORIES; k++) {
      const id = uniqueId(`FAULT${k}`);
      const document = documentText(sampleAdvisory({ id, title: `Fault suite advisory ${k}` }));
      const r = await call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
      expect([r.status, r.json?.status]).toEqual([202, 'accepted']);
      advisories.push(id);
      note(`published ${id} (delivery ${String(r.json.delivery)})`);
      for (const { fault, at } of schedule[k]!) {
        await fleet.waitFor(id, at, 90_000);
        note(`${id}: ${fleet.count(id)} requests seen (trigger ${at})`);
        await inject(fault);
      }
    }

    // Wait (bounded) until every recipient of every advisory is delivered or failed.
    const finals = new Map<string, Delivery[]>();
    for (const id of advisories) finals.set(id, await settled(id));
    note('all settled');

    // Redis loses its data right after the fan-outs completed: nothing is sent again (beyond what
    // was answered in the last seconds). A sentinel advisory published after recovery ran, and
    // delivered to everyone, shows the queues ran whatever recovery put in them.
    const afterApiRestarts = api.log().split('redis is back').length;
    await loseRedis(0);
    await eventually(async () => api.log().split('redis is back').length > afterApiRestarts, 30_000, 'the API reconciled with the restarted Redis');
    const sentinel = uniqueId('FAULTS');
    const sentinelDoc = documentText(sampleAdvisory({ id: sentinel, title: 'Fault suite sentinel' }));
    expect((await call('POST', '/v1/advisories', { document: sentinelDoc, signatures: [await publisher.sign(sentinelDoc)] })).status).toBe(202);
    await settled(sentinel);
    note(`after a Redis loss once all had settled, sentinel ${sentinel} settled`);
    for (const id of advisories) finals.set(id, await settled(id));


    // Every fault that can lose a record (a killed worker's unflushed batch, a wiped Redis) may
    // cost one more copy to a partner; nothing else may.
    const lossyFaults = counts.worker + counts.redis;
    let deliveredCount = 0;
    let duplicates = 0;
    /**
     * Copies sent after a Redis loss to partners whose 204 was recorded more than DURABLE_AFTER_MS
     * before it (a 204 just before a worker kill may never have been recorded).
     */
    let resentDelivered = 0;
    let lost = 0;
    const wrong: string[] = [];
    const messageIds = new Set<string>();
    for (const id of advisories) {
      const states = new Map(finals.get(id)!.map((d) => [d.recipient, d]));
      expect(states.size).toBe(RECIPIENTS);
      const received = fleet.received(id);
      const idsOfAdvisory = new Set<string>();
      for (const partner of fleet.partners) {
        const got = received.get(partner.path) ?? { webhookIds: [], statuses: [], times: [] };
        const firstOk = got.times.find((_, i) => got.statuses[i] === 204);
        const recorded = firstOk !== undefined && !workerKills.some((k) => firstOk <= k && firstOk > k - UNRECORDED_BEFORE_KILL_MS);
        for (const loss of losses) {
          if (recorded && firstOk < loss.at - DURABLE_AFTER_MS && got.times.some((t) => t > loss.at)) {
            resentDelivered += 1;
            const when = got.times.map((t, i) => `${got.statuses[i]}@${t - loss.at}ms`).join(',');
            if (resentDelivered <= 5) note(`resent after a Redis loss: ${id} ${partner.path} ${recipientOf.get(partner.path)} (${partner.behaviour.kind}): ${when}`);
          }
        }
        const state = states.get(recipientOf.get(partner.path)!);
        for (const w of got.webhookIds) idsOfAdvisory.add(w);
        const oks = got.statuses.filter((s) => s === 204).length;
        const b = partner.behaviour;
        if (b.kind === 'gone') {
          if (state?.state !== 'failed' || state.attempts !== 1 || !/410/.test(state.last_error ?? '')) wrong.push(`${id} ${partner.path} (gone): ${JSON.stringify(state)}`);
          if (got.statuses.length < 1 || got.statuses.length > 1 + lossyFaults) wrong.push(`${id} ${partner.path} (gone): ${got.statuses.length} requests`);
          continue;
        }
        if (oks === 0) lost += 1;
        else deliveredCount += 1;
        duplicates += Math.max(0, oks - 1);
        if (state?.state !== 'delivered') wrong.push(`${id} ${partner.path} (${b.kind}): ${JSON.stringify(state)}`);
        if (b.kind === 'flaky' && got.statuses.slice(0, b.failures).some((s) => s !== 500)) wrong.push(`${id} ${partner.path} flaky: ${got.statuses.join(',')}`);
      }
      // Every copy of one advisory, first or duplicate, to any partner, carries one webhook-id.
      expect([...idsOfAdvisory]).toHaveLength(1);
      const [messageId] = idsOfAdvisory;
      expect(messageId).toMatch(/^msg_[0-9a-f]{32}$/);
      messageIds.add(messageId!);
    }
    // ...and each advisory its own.
    expect(messageIds.size).toBe(ADVISORIES);

    // What arrived after all the faults is still tocsin's signature over the publisher's document.
    const key = await (await fetch(`${apiUrl}/v1/keys/broadcaster.asc`)).text();
    for (const body of fleet.samples()) {
      const notice = JSON.parse(body) as { document: string; signature: string };
      const verdict = await gpgVerify(key, notice.document, notice.signature);
      expect(verdict.ok).toBe(true);
    }

    const summary =
      `faults: seed=${seed} recipients=${RECIPIENTS} advisories=${ADVISORIES} delivered=${deliveredCount} duplicates=${duplicates} ` +
      `duplicate_bound=${allowance} resent_after_durable_delivery=${resentDelivered} ` +
      `gone=${fleet.partners.filter((p) => p.behaviour.kind === 'gone').length * ADVISORIES} worker_kills=${counts.worker} ` +
      `redis_restarts=${counts.redis} api_restarts=${counts.api} lost=${lost} wrong_state=${wrong.length} wall_s=${((Date.now() - started) / 1000).toFixed(1)}`;
    process.stdout.write(`${summary}\n`);

    expect(fleet.forged).toEqual([]);
    expect(fleet.unknown).toEqual([]);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(lost).toBe(0);
    expect(counts).toEqual({ worker: 4, redis: 2, api: 2 });
    // The receipts: no partner told (and recorded) before a Redis loss is told again after it...
    expect(resentDelivered).toBe(0);
    // ...and the copies sent twice are at most what was in the workers' hands or in flight at each fault.
    expect(duplicates).toBeLessThanOrEqual(allowance);
  }
});
