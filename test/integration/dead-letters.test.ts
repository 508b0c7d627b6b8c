import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../../src/log';
import { markedStates, type SettledMark } from '../../src/delivery/dead-letters';
import { createReceiptLog } from '../../src/storage/receipt-log';
import { createDeliveryStateStore } from '../../src/delivery/delivery-state';
import { createDeliveryQueues } from '../../src/queue/delivery-queues';
import { jobIds } from '../../src/queue/jobs';
import { SETTLED_MARK } from '../../src/queue/reconciler';
import { createDeliveryReplayer } from '../../src/queue/replay-deliveries';
import { openRecipientStore } from '../../src/recipients/recipient-store';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { startWorkers, type RunningWorkers } from '../../workers/start-workers';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import type { GpgPublisher } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { deleteRedisPrefix } from '../support/redis-prefix';
import type { Tocsin } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver } from '../support/webhook-receiver';

/**
 * Three attempts with 100-400 ms between them: dead letters arrive within a second or two. The
 * circuit breaker is off: its 30 s cool-down would swallow such a short schedule, and each test
 * here counts one request per attempt.
 */
const ENV = { TOCSIN_WEBHOOK_MAX_ATTEMPTS: '3', TOCSIN_BREAKER_THRESHOLD: '0' };

interface Delivery {
  recipient: string;
  state: string;
  attempts: number;
  replays?: number;
  last_error?: string;
}

/** A partner that answers 500 until fixed, and one that answers 410 Gone, plus a healthy one. */
async function partners(tocsin: Tocsin) {
  const state = { broken: true };
  const flaky = await startReceiver(() => ({ status: state.broken ? 500 : 200 }));
  const gone = await startReceiver(() => ({ status: 410 }));
  const healthy = await startReceiver();
  return {
    flaky,
    gone,
    healthy,
    fix: () => (state.broken = false),
    ids: { flaky: await tocsin.addWebhook(flaky.url()), gone: await tocsin.addWebhook(gone.url()), healthy: await tocsin.addWebhook(healthy.url()) },
    close: () => Promise.all([flaky.close(), gone.close(), healthy.close()]),
  };
}

async function publish(tocsin: Tocsin, publisher: GpgPublisher): Promise<string> {
  const id = uniqueId('DL');
  const document = documentText(sampleAdvisory({ id }));
  const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
  expect(r.status).toBe(202);
  return id;
}

async function deliveryOf(tocsin: Tocsin, id: string, recipient: string): Promise<Delivery | undefined> {
  const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
  return (r.json.deliveries as Delivery[]).find((d) => d.recipient === recipient);
}

/**
 * The dead letters of one advisory among `mine`: the audience also holds earlier tests'
 * partners, whose receivers are closed by now and so fail too.
 */
async function failedOf(tocsin: Tocsin, id: string, mine: { ids: Record<string, { id: string }> }): Promise<Delivery[]> {
  const r = await tocsin.admin('GET', `/v1/deliveries?state=failed&advisory=${id}`);
  expect(r.status).toBe(200);
  const ours = new Set(Object.values(mine.ids).map((x) => x.id));
  return (r.json.deliveries as Delivery[]).filter((d) => ours.has(d.recipient));
}

const waitForFailed = (tocsin: Tocsin, id: string, mine: { ids: Record<string, { id: string }> }) =>
  eventually(async () => {
    const failed = await failedOf(tocsin, id, mine);
    return failed.length === 2 ? failed : undefined;
  }, 20_000, `2 dead letters of ${id}`);

/**
 * The recipients a settled revision keeps as failed (webhook: the only channel these tests use):
 * in its mark's states if it is an older mark, else in its durable receipts, which hold them all.
 */
async function failedIn(dataDir: string, mark: SettledMark | null, id: string): Promise<string[]> {
  const log = createReceiptLog(dataDir);
  try {
    const kept = mark?.receipts_complete ? ((await log.statesOf({ id, revision: 1 })).get('webhook') ?? new Map()) : markedStates(mark, 'webhook');
    return [...kept].filter(([, st]) => st.state === 'failed').map(([recipient]) => recipient);
  } finally {
    await log.close();
  }
}

describe('dead letters: listing and replay', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: ENV }));

  it('lists a 410 and an always-500 partner as failed, never a delivered one, and never a secret', async () => {
    const p = await partners(tocsin);
    try {
      const id = await publish(tocsin, publisher);
      const failed = await waitForFailed(tocsin, id, p);
      const byId = new Map(failed.map((d) => [d.recipient, d]));
      expect(byId.get(p.ids.gone.id)).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/410/) });
      expect(byId.get(p.ids.flaky.id)).toMatchObject({ attempts: 3, last_error: expect.stringMatching(/500/) });
      expect(p.flaky.requests).toHaveLength(3);
      expect(byId.has(p.ids.healthy.id)).toBe(false);

      const all = await tocsin.admin('GET', '/v1/deliveries?state=failed');
      expect(all.json.deliveries).toEqual(expect.arrayContaining(failed));
      expect(all.json.deliveries[0]).toEqual(expect.objectContaining({ advisory: expect.any(String), revision: 1, channel: 'webhook', updated_at: expect.any(String) }));
      for (const rcpt of Object.values(p.ids)) expect(all.text).not.toContain(rcpt.secret);
      expect(all.text).not.toContain('http://');
      expect((await tocsin.admin('GET', `/v1/deliveries?advisory=${id}&channel=email`)).json.deliveries).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it('answers 400 naming the field, 404 for an unknown advisory, and 401 without the token', async () => {
    expect((await tocsin.admin('GET', '/v1/deliveries?state=delivered')).json.error).toMatchObject({ code: 'invalid_query', fields: [{ field: 'state' }] });
    expect((await tocsin.admin('GET', '/v1/deliveries?revision=1')).json.error.fields).toEqual([expect.objectContaining({ field: 'revision' })]);
    expect((await tocsin.admin('GET', '/v1/deliveries?chanel=webhook')).status).toBe(400);
    expect((await tocsin.admin('GET', '/v1/deliveries?advisory=NOPE-0')).status).toBe(404);

    const bad = await tocsin.admin('POST', '/v1/deliveries/replay', { revision: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'advisory' }), expect.objectContaining({ field: 'revision' })]));
    const both = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: 'X-1', all_failed: true });
    expect(both.json.error.fields).toEqual([expect.objectContaining({ field: 'all_failed' })]);
    expect((await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: 'NOPE-0' })).status).toBe(404);

    expect((await tocsin.call('GET', '/v1/deliveries?state=failed')).status).toBe(401);
    expect((await tocsin.call('GET', '/v1/deliveries', undefined, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await tocsin.call('POST', '/v1/deliveries/replay', { all_failed: true })).status).toBe(401);
  });

  it('replays with a fresh full schedule and the same webhook-id, and refuses what is not failed', async () => {
    const p = await partners(tocsin);
    try {
      const id = await publish(tocsin, publisher);
      await waitForFailed(tocsin, id, p);
      const firstId = p.flaky.requests[0]!.headers['webhook-id'];

      // Still broken: the replay runs a whole new schedule (3 more attempts), then fails again.
      const first = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: [p.ids.flaky.id] });
      expect(first.status).toBe(202);
      expect(first.json).toEqual({ replayed: [{ advisory: id, revision: 1, channel: 'webhook', recipient: p.ids.flaky.id, replay: 1 }], skipped: [] });
      await p.flaky.waitFor(6, 20_000);
      const again = await eventually(async () => {
        const d = await deliveryOf(tocsin, id, p.ids.flaky.id);
        return d?.state === 'failed' && d.replays === 1 ? d : undefined;
      }, 20_000, 'failed again after the first replay');
      expect(again.attempts).toBe(3);

      // Fixed: the second replay delivers, with the id every earlier attempt carried.
      p.fix();
      const second = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: [p.ids.flaky.id] });
      expect(second.json.replayed).toEqual([expect.objectContaining({ replay: 2 })]);
      await p.flaky.waitFor(7, 20_000);
      const done = await eventually(async () => {
        const d = await deliveryOf(tocsin, id, p.ids.flaky.id);
        return d?.state === 'delivered' ? d : undefined;
      }, 20_000, 'delivered after the second replay');
      expect(done).toMatchObject({ attempts: 1, replays: 2 });
      expect(p.flaky.requests).toHaveLength(7);
      expect(new Set(p.flaky.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([firstId]));
      const last = p.flaky.requests[6]!;
      expect(() => new Webhook(p.ids.flaky.secret).verify(last.body, last.headers as Record<string, string>)).not.toThrow();
      expect((await failedOf(tocsin, id, p)).map((d) => d.recipient)).toEqual([p.ids.gone.id]);

      // Not failed any more (delivered), or never failed: 409 naming each, and nothing queued.
      const refused = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: [p.ids.gone.id, p.ids.flaky.id, p.ids.healthy.id] });
      expect(refused.status).toBe(409);
      expect(refused.json.error).toMatchObject({ code: 'not_replayable' });
      expect(refused.json.error.fields.map((f: { field: string }) => f.field)).toEqual(['recipients.1', 'recipients.2']);
      expect((await failedOf(tocsin, id, p)).map((d) => d.recipient)).toEqual([p.ids.gone.id]);
      const stranger = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: ['rcpt_nobody'] });
      expect(stranger.status).toBe(404);
      expect(stranger.json.error.fields).toEqual([expect.objectContaining({ field: 'recipients.0' })]);
      expect(p.healthy.requests).toHaveLength(1);
    } finally {
      await p.close();
    }
  });

  it('replays every dead letter with all_failed, and two replayers racing queue each delivery once', async () => {
    const p = await partners(tocsin);
    const redis = new Redis(tocsin.config.redisUrl);
    const queues = createDeliveryQueues(redis, tocsin.config.prefix);
    const recipients = await openRecipientStore(tocsin.config.dataDir, redis, tocsin.config.prefix);
    try {
      const id = await publish(tocsin, publisher);
      await waitForFailed(tocsin, id, p);
      p.fix();
      // Two API processes replaying at once: no shared lock, only the job ids keep them apart.
      const replayer = () =>
        createDeliveryReplayer({
          archive: createAdvisoryArchive(tocsin.config.dataDir),
          redis,
          prefix: tocsin.config.prefix,
          states: createDeliveryStateStore(redis, tocsin.config.prefix),
          receipts: createReceiptLog(tocsin.config.dataDir),
          queues,
          recipients,
          render: () => Promise.reject(new Error('the notice is still stored')),
          exclusive: (fn) => fn(),
          maxAttempts: () => 3,
          log: createLogger('silent'),
        });
      const [a, b] = await Promise.all([replayer().replay({ ref: { id, revision: 1 } }), replayer().replay({ ref: { id, revision: 1 } })]);
      for (const outcome of [a, b]) {
        expect(outcome.replayed.filter((r) => r.recipient === p.ids.flaky.id || r.recipient === p.ids.gone.id).map((r) => r.replay)).toEqual([1, 1]);
      }
      const ref = { id, revision: 1 };
      expect(await queues.webhook.getJob(jobIds.replay(ref, p.ids.flaky.id, 1))).toBeDefined();
      const jobs = await queues.webhook.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
      const ours = [p.ids.flaky.id, p.ids.gone.id];
      expect(jobs.filter((j) => j.name === 'retry' && 'recipient' in j.data && ours.includes(j.data.recipient) && j.data.replay)).toHaveLength(2);
      await p.flaky.waitFor(4, 20_000);
      await eventually(async () => (await deliveryOf(tocsin, id, p.ids.flaky.id))?.state === 'delivered', 20_000, 'delivered');
      // The 410 partner was not named, yet a replay by advisory took it too: it answered 410 again.
      await p.gone.waitFor(2, 20_000);
      await eventually(async () => (await deliveryOf(tocsin, id, p.ids.gone.id))?.replays === 1 && (await deliveryOf(tocsin, id, p.ids.gone.id))?.state === 'failed', 20_000, 'gone failed again');
      expect(p.flaky.requests).toHaveLength(4);
      expect(p.gone.requests).toHaveLength(2);

      // all_failed over the whole installation takes the 410 partner again (generation 2).
      const all = await tocsin.admin('POST', '/v1/deliveries/replay', { all_failed: true, channel: 'webhook' });
      expect(all.status).toBe(202);
      expect(all.json.replayed).toEqual(expect.arrayContaining([{ advisory: id, revision: 1, channel: 'webhook', recipient: p.ids.gone.id, replay: 2 }]));
      await p.gone.waitFor(3, 20_000);
    } finally {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await recipients.close();
      redis.disconnect();
      await p.close();
    }
  });
});

describe("a replay's retrying state", () => {
  it('is written over a failed state of an earlier generation only, never over what the replay job already wrote', async () => {
    const prefix = `t-cas-${uniqueId('x').toLowerCase()}`;
    const redis = new Redis();
    const states = createDeliveryStateStore(redis, prefix);
    const ref = { id: 'CAS-1', revision: 1 };
    const at = new Date().toISOString();
    const replayed = (generation: number) => ({ state: 'retrying' as const, attempts: 0, updated_at: at, replays: generation });
    try {
      expect(await states.writeReplayed('webhook', ref, 'missing', replayed(1))).toBe(true);
      await states.write('webhook', ref, new Map([
        ['failed-once', { state: 'failed' as const, attempts: 3, updated_at: at }],
        ['delivered-by-job', { state: 'delivered' as const, attempts: 1, updated_at: at, replays: 1 }],
        ['failed-by-job', { state: 'failed' as const, attempts: 3, updated_at: at, replays: 1 }],
      ]));
      expect(await states.writeReplayed('webhook', ref, 'failed-once', replayed(1))).toBe(true);
      expect(await states.writeReplayed('webhook', ref, 'delivered-by-job', replayed(1))).toBe(false);
      expect(await states.writeReplayed('webhook', ref, 'failed-by-job', replayed(1))).toBe(false);
      expect(await states.writeReplayed('webhook', ref, 'failed-by-job', replayed(2))).toBe(true);
      const after = await states.getMany('webhook', ref, ['failed-once', 'delivered-by-job', 'failed-by-job']);
      expect(after.map((s) => s?.state)).toEqual(['retrying', 'delivered', 'retrying']);
    } finally {
      await deleteRedisPrefix('redis://127.0.0.1:6379', prefix);
      redis.disconnect();
    }
  });
});

describe('dead letters across a Redis data loss', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: ENV, workers: false }));
  let workers: RunningWorkers | null = null;
  const archive = () => createAdvisoryArchive(tocsin.config.dataDir);
  const loseRedis = () => deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);

  afterEach(async () => {
    await workers?.close();
    workers = null;
  });

  /** Publishes to fresh partners and waits until the revision is settled with two dead letters. */
  async function settledWithDeadLetters() {
    const p = await partners(tocsin);
    workers = await startWorkers(tocsin.config, createLogger('silent'));
    const id = await publish(tocsin, publisher);
    await waitForFailed(tocsin, id, p);
    await eventually(async () => (await deliveryOf(tocsin, id, p.ids.healthy.id))?.state === 'delivered', 10_000, 'healthy delivered');
    // Settles once every recipient is done, earlier tests' closed partners included.
    const mark = await eventually(async () => {
      await tocsin.api.reconcile();
      return (await archive().readMark({ id, revision: 1 }, SETTLED_MARK)) as SettledMark | null;
    }, 20_000, 'settled');
    expect(mark).toMatchObject({ receipts_complete: true });
    const failed = await failedIn(tocsin.config.dataDir, mark, id);
    expect(failed).toEqual(expect.arrayContaining([p.ids.flaky.id, p.ids.gone.id]));
    expect(failed).not.toContain(p.ids.healthy.id);
    return { p, id };
  }

  it("keeps a settled revision's dead letters listed after Redis loses them, and replays them without re-broadcasting", async () => {
    const { p, id } = await settledWithDeadLetters();
    try {
      await loseRedis();
      const failed = await failedOf(tocsin, id, p);
      expect(failed.map((d) => d.recipient).sort()).toEqual([p.ids.flaky.id, p.ids.gone.id].sort());
      expect(failed.find((d) => d.recipient === p.ids.flaky.id)).toMatchObject({ attempts: 3, last_error: expect.stringMatching(/500/) });

      // Fresh workers (no notice cached in memory), and no reconcile pass before the replay: the
      // replay itself puts back what the workers need.
      await workers?.close();
      workers = await startWorkers(tocsin.config, createLogger('silent'));
      p.fix();
      const r = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: [p.ids.flaky.id] });
      expect(r.status).toBe(202);
      expect(await archive().hasMark({ id, revision: 1 }, SETTLED_MARK)).toBe(false);
      await p.flaky.waitFor(4, 20_000);
      await eventually(async () => (await deliveryOf(tocsin, id, p.ids.flaky.id))?.state === 'delivered', 20_000, 'delivered after the replay');
      expect(new Set(p.flaky.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);

      // Settles again, keeping the one dead letter left; the healthy partner never heard twice.
      expect(await tocsin.api.reconcile()).toBe(0);
      const mark = (await archive().readMark({ id, revision: 1 }, SETTLED_MARK)) as SettledMark | null;
      expect(await failedIn(tocsin.config.dataDir, mark, id)).toContain(p.ids.gone.id);
      expect(await failedIn(tocsin.config.dataDir, mark, id)).not.toContain(p.ids.flaky.id);
      expect((await failedOf(tocsin, id, p)).map((d) => d.recipient)).toEqual([p.ids.gone.id]);
      expect(p.healthy.requests).toHaveLength(1);
      expect((await deliveryOf(tocsin, id, p.ids.healthy.id))?.state).toBe('delivered');
    } finally {
      await p.close();
    }
  });

  it('does not forget a replay that Redis lost before it ran: the revision is no longer settled and is queued again', async () => {
    const { p, id } = await settledWithDeadLetters();
    try {
      await workers?.close();
      workers = null;
      const r = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: [p.ids.flaky.id] });
      expect(r.status).toBe(202);
      // No worker runs: the replay's own state shows, its schedule restarted.
      expect(await deliveryOf(tocsin, id, p.ids.flaky.id)).toMatchObject({ state: 'retrying', attempts: 0, replays: 1, replayed_at: expect.any(String) });
      expect((await failedOf(tocsin, id, p)).map((d) => d.recipient)).toEqual([p.ids.gone.id]);
      await loseRedis();
      // Unsettled now, so recovery queues the whole revision again (at-least-once, same ids).
      expect(await tocsin.api.reconcile()).toBe(1);
      p.fix();
      workers = await startWorkers(tocsin.config, createLogger('silent'));
      await p.flaky.waitFor(4, 20_000);
      await eventually(async () => (await deliveryOf(tocsin, id, p.ids.flaky.id))?.state === 'delivered', 20_000, 'delivered after recovery');
      expect(new Set(p.flaky.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
    } finally {
      await p.close();
    }
  });
});
