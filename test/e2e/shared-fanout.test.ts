import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { CONNECTIONS_PER_ORIGIN } from '../../src/net/guarded-dispatcher';
import type { DeliveryJobData, DeliveryJobName } from '../../src/queue/jobs';
import { startPartnerFleet, type Partner, type PartnerFleet } from '../faults/partner-fleet';
import { tocsinChild, type TocsinChild } from '../faults/tocsin-children';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { createCountWaiter } from '../support/count-waiter';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { TEST_REDIS } from '../support/run-redis';
import { useGpgPublisher } from '../support/use-gpg-publisher';

const REDIS_URL = `redis://${TEST_REDIS.host}:${TEST_REDIS.port}`;
const ADMIN_TOKEN = 'shared-fanout-admin-token-0123456789';
const RECIPIENTS = 500;
/** Loopback servers the partners are spread over (partner i on server i mod SERVERS): one origin each. */
const SERVERS = 5;
/** Small batches: 25 batch jobs for the two workers to share. */
const BATCH_SIZE = 20;
/**
 * Sends in flight per worker process. With it, each worker holds four batch jobs at once
 * (workers/delivery-worker.ts: max(4, 2 x concurrency / batch size)), so neither can take the
 * whole fan-out before the other has started.
 */
const WEBHOOK_CONCURRENCY = 16;
/**
 * A killed worker's claim on its jobs lapses after this long, and the survivor looks for lapsed
 * claims as often: its batches are taken over within two of these. Well above the 1 s minimum,
 * so that a busy machine delaying a renewal does not lapse a live worker's claim.
 */
const LOCK_MS = 3_000;

interface Delivery {
  recipient: string;
  state: string;
}
type BatchJob = { id?: string; name: DeliveryJobName; data: DeliveryJobData<'batch'> };

/**
 * The scale-out promise of `tocsin worker` ("run several to scale out"): two worker processes on
 * one Redis prefix and one data directory share one advisory's fan-out, each batch taken by one
 * of them, so every recipient gets the notice exactly once and nobody is left out. When one of
 * them is SIGKILLed mid-fan-out the other takes over its batches and sends again only what the
 * dead one had not recorded.
 *
 * Which process sent what is read from each worker's own log: one `delivered` line per outcome,
 * naming advisory and recipient (workers/delivery-observer.ts).
 */
describe('two tocsin workers share one fan-out', () => {
  const publisher = useGpgPublisher('shared-fanout@example.org');
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  let root: string;
  let fleet: PartnerFleet;
  let api: TocsinChild;
  let queue: Queue;
  let apiUrl: string;
  const workers: TocsinChild[] = [];
  /** Per worker, per advisory: the recipients its log says it delivered to, in order. */
  const logged: Map<string, string[]>[] = [];
  const deliveredLines = new Map<string, number>();
  const lineWaiters = new Map<string, ReturnType<typeof createCountWaiter>>();
  /** Recipient id by partner path, and back. */
  const recipientOf = new Map<string, string>();
  const partnerOf = new Map<string, Partner>();

  const linesFor = (advisory: string) => {
    let w = lineWaiters.get(advisory);
    if (!w) lineWaiters.set(advisory, (w = createCountWaiter(() => deliveredLines.get(advisory) ?? 0, `workers' delivered lines for ${advisory}`)));
    return w;
  };
  /** Reads one worker's log line: a delivery outcome is attributed to that process. */
  const readLine = (worker: number) => (line: string) => {
    if (!line.startsWith('{')) return;
    const entry = JSON.parse(line) as { msg?: string; advisory?: string; recipient?: string };
    if (entry.msg !== 'delivered' || !entry.advisory || !entry.recipient) return;
    const mine = logged[worker]!;
    mine.set(entry.advisory, [...(mine.get(entry.advisory) ?? []), entry.recipient]);
    deliveredLines.set(entry.advisory, (deliveredLines.get(entry.advisory) ?? 0) + 1);
    linesFor(entry.advisory).notify();
  };

  const call = async (method: string, p: string, body?: string, type = 'application/json') => {
    const res = await fetch(`${apiUrl}${p}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: (text.startsWith('{') ? JSON.parse(text) : null) as Record<string, any> };
  };
  const deliveries = async (id: string) => {
    const r = await call('GET', `/v1/advisories/${id}/deliveries`);
    if (r.status !== 200) throw new Error(`deliveries of ${id}: ${r.status} ${r.text}`);
    return r.json as { summary: Record<string, number>; deliveries: Delivery[] };
  };
  const publish = async (title: string) => {
    const id = uniqueId('SHARED');
    const document = documentText(sampleAdvisory({ id, title }));
    const r = await call('POST', '/v1/advisories', JSON.stringify({ document, signatures: [await publisher.sign(document)] }));
    expect([r.status, r.json?.status]).toEqual([202, 'accepted']);
    return id;
  };
  /** Every recipient delivered, and nothing left in the queue that could still send. */
  const settled = async (id: string) => {
    await eventually(async () => {
      const { summary } = await deliveries(id);
      const counts = await queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'waiting-children');
      return summary.delivered === RECIPIENTS && Object.values(counts).every((n) => n === 0);
    }, 20_000, `${id}: all ${RECIPIENTS} delivered and the queue drained`);
  };
  /** How many requests each partner got for `id` (every partner is listed, 0 when none). */
  const copies = (id: string) => {
    const received = fleet.received(id);
    return new Map(fleet.partners.map((p) => [recipientOf.get(p.path)!, received.get(p.path)?.webhookIds.length ?? 0]));
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tocsin-shared-fanout-'));
    await mkdir(path.join(root, 'keys', 'publishers'), { recursive: true });
    await writeFile(path.join(root, 'keys', 'publishers', 'publisher.asc'), publisher.armoredPublicKey);
    fleet = await startPartnerFleet(Array.from({ length: RECIPIENTS }, () => ({ kind: 'ok' as const })), SERVERS);

    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    // One Redis prefix and one data directory for all three processes, as an operator scales out.
    const env = {
      REDIS_URL,
      TOCSIN_QUEUE_PREFIX: prefix,
      TOCSIN_DATA_DIR: path.join(root, 'data'),
      TOCSIN_KEYS_DIR: path.join(root, 'keys'),
      TOCSIN_PUBLIC_URL: apiUrl,
      TOCSIN_ALLOW_PRIVATE_TARGETS: '1',
      TOCSIN_FANOUT_BATCH_SIZE: String(BATCH_SIZE),
      TOCSIN_WEBHOOK_CONCURRENCY: String(WEBHOOK_CONCURRENCY),
      TOCSIN_JOB_LOCK_MS: String(LOCK_MS),
      LOG_LEVEL: 'info',
    };
    api = tocsinChild('serve', { ...env, PORT: String(port), TOCSIN_HOST: '127.0.0.1', TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN }, 'tocsin API listening');
    for (let i = 0; i < 2; i++) {
      logged.push(new Map());
      workers.push(tocsinChild('worker', env, 'tocsin workers started', { onLine: readLine(i) }));
    }
    await Promise.all([api.start(), ...workers.map((w) => w.start())]);
    queue = new Queue('webhook', { connection: { url: REDIS_URL }, prefix });

    const ndjson = fleet.partners.map((p) => JSON.stringify({ type: 'webhook', url: p.url, secret: p.secret })).join('\n');
    const imported = await call('POST', '/v1/recipients/import', `${ndjson}\n`, 'application/x-ndjson');
    expect([imported.status, imported.json?.imported]).toEqual([200, RECIPIENTS]);
    const paths = new Map(fleet.partners.map((p) => [p.path, p]));
    for (const r of (await call('GET', '/v1/recipients')).json.recipients as { id: string; url: string }[]) {
      const partner = paths.get(new URL(r.url).pathname)!;
      recipientOf.set(partner.path, r.id);
      partnerOf.set(r.id, partner);
    }
    expect(recipientOf.size).toBe(RECIPIENTS);
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.kill();
    await api?.kill();
    await queue?.close();
    await fleet?.close();
    await deleteRedisPrefix(REDIS_URL, prefix);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('delivers to every recipient exactly once, both workers taking a share', async () => {
    const id = await publish('Shared fan-out');
    await fleet.waitFor(id, RECIPIENTS, 20_000);
    await linesFor(id).waitFor(RECIPIENTS, 20_000);
    await settled(id);

    // Each partner got exactly one request, all with the advisory's one webhook-id.
    const perRecipient = copies(id);
    expect([...perRecipient.values()].filter((n) => n !== 1)).toEqual([]);
    const ids = new Set([...fleet.received(id).values()].flatMap((r) => r.webhookIds));
    expect(ids.size).toBe(1);
    expect(fleet.forged).toEqual([]);
    expect(fleet.unknown).toEqual([]);

    // Each recipient was delivered by exactly one of the two processes, and each did a share.
    const [byFirst, bySecond] = logged.map((l) => l.get(id) ?? []) as [string[], string[]];
    process.stdout.write(`shared fan-out: worker 0 delivered ${byFirst.length}, worker 1 delivered ${bySecond.length} of ${RECIPIENTS}\n`);
    expect(byFirst.length).toBeGreaterThan(0);
    expect(bySecond.length).toBeGreaterThan(0);
    expect(byFirst.length + bySecond.length).toBe(RECIPIENTS);
    expect(new Set([...byFirst, ...bySecond])).toEqual(new Set(perRecipient.keys()));

    const read = await deliveries(id);
    expect(read.summary).toEqual({ pending: 0, delivered: RECIPIENTS, retrying: 0, failed: 0 });
    expect(read.deliveries.filter((d) => d.state !== 'delivered')).toEqual([]);
  }, 30_000);

  it('when one worker is SIGKILLed mid-fan-out, the other finishes it, resending only what the dead one had not recorded', async () => {
    // One server's partners (a fifth) hold their answers: every batch has some of them, so it
    // stays in its worker's hands, its other recipients delivered and recorded.
    const heldPort = new URL(fleet.partners[0]!.url).port;
    const isHeld = (p: Partner) => new URL(p.url).port === heldPort;
    const release = fleet.hold(isHeld);
    const [dead, survivor] = workers as [TocsinChild, TocsinChild];
    let inHandOfDead: string[] = [];
    let recordedAtKill = new Set<string>();
    let id = '';
    try {
      id = await publish('Shared fan-out, a worker killed');
      // The steady state, before the kill: both workers hold their batch jobs, each with as many
      // sends in flight to the held server as one origin allows, and everything else in those
      // batches delivered and recorded. Which worker holds a batch: the one whose log delivered
      // some of its recipients.
      const atKill = await eventually(async () => {
        const active = ((await queue.getActive()) as BatchJob[]).filter((j) => j.name === 'batch' && j.data.ref.id === id);
        const states = new Map((await deliveries(id)).deliveries.map((d) => [d.recipient, d.state]));
        const quick = active.flatMap((j) => j.data.recipients).filter((r) => !isHeld(partnerOf.get(r)!));
        if (!quick.every((r) => states.get(r) === 'delivered')) return null;
        const holders = active.map((j) => logged.findIndex((l) => j.data.recipients.some((r) => (l.get(id) ?? []).includes(r))));
        if (holders.includes(-1) || !holders.includes(0) || !holders.includes(1)) return null;
        // Each worker sends to as many of its held recipients as one origin allows at once.
        const heldInHands = [0, 1].map((w) => active.filter((_, i) => holders[i] === w).flatMap((j) => j.data.recipients).filter((r) => isHeld(partnerOf.get(r)!)).length);
        const received = fleet.received(id);
        const heldInFlight = fleet.partners.filter((p) => isHeld(p) && received.has(p.path)).length;
        if (heldInFlight !== heldInHands.reduce((sum, n) => sum + Math.min(n, CONNECTIONS_PER_ORIGIN), 0)) return null;
        return { active, holders, states };
      }, 20_000, 'both workers holding batches, all but the held sends recorded');
      inHandOfDead = atKill.active.filter((_, i) => atKill.holders[i] === 0).flatMap((j) => j.data.recipients);
      recordedAtKill = new Set([...atKill.states].filter(([, s]) => s === 'delivered').map(([r]) => r));
      await dead.kill();
    } finally {
      release();
    }
    expect(survivor.running()).toBe(true);
    await settled(id);

    // Nobody left out, and everything recorded delivered.
    const perRecipient = copies(id);
    expect([...perRecipient.values()].filter((n) => n === 0)).toEqual([]);
    const read = await deliveries(id);
    expect(read.summary).toEqual({ pending: 0, delivered: RECIPIENTS, retrying: 0, failed: 0 });

    // The dead worker had delivered and recorded part of its batches: none of that is sent again.
    // What is sent twice lies within its batches, among what it had not recorded, and is at most
    // what it had in flight when it died (its sends to the held server, one origin's worth).
    const recordedByDead = inHandOfDead.filter((r) => recordedAtKill.has(r));
    const unrecordedOfDead = new Set(inHandOfDead.filter((r) => !recordedAtKill.has(r)));
    const duplicated = [...perRecipient].filter(([, n]) => n > 1).map(([r]) => r);
    process.stdout.write(
      `shared fan-out, worker killed: in its hands ${inHandOfDead.length} (recorded ${recordedByDead.length}), duplicates ${duplicated.length} (bound ${CONNECTIONS_PER_ORIGIN})\n`,
    );
    expect(recordedByDead.length).toBeGreaterThan(0);
    expect(duplicated.filter((r) => !unrecordedOfDead.has(r))).toEqual([]);
    expect(duplicated.length).toBeLessThanOrEqual(CONNECTIONS_PER_ORIGIN);
    expect(Math.max(...perRecipient.values())).toBeLessThanOrEqual(2);
    // Copies sent again carry the same webhook-id: a partner can drop them.
    expect(new Set([...fleet.received(id).values()].flatMap((r) => r.webhookIds)).size).toBe(1);
  }, 30_000);
});
