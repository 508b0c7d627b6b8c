import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startSilentPeer, type SilentPeer } from '../support/silent-peer';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver, type Script } from '../support/webhook-receiver';

const TIMEOUT_MS = 2_000;
const MAX_ATTEMPTS = 12;

interface Delivery {
  recipient: string;
  state: string;
  attempts: number;
  last_error?: string;
}

/**
 * Promise 4, "bad destinations cannot hurt good ones": hundreds of recipients on dead loopback
 * hosts cost those hosts a handful of connections over the whole retry schedule, and recipients
 * on a healthy host are delivered before the first dead-host timeout even fires.
 */
describe('circuit breaker per destination host', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const closers: (() => Promise<void>)[] = [];
  // Before tocsin's own (hooks run in the order they are declared): the peers go first.
  afterAll(async () => {
    for (const close of closers) await close();
  });
  const tocsin = useTocsin(() => ({
    publishers: [publisher.armoredPublicKey],
    env: {
      TOCSIN_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      TOCSIN_WEBHOOK_CONCURRENCY: '16',
      TOCSIN_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      TOCSIN_BREAKER_THRESHOLD: '3',
      TOCSIN_BREAKER_COOLDOWN_MS: '500',
      TOCSIN_BREAKER_MAX_COOLDOWN_MS: '1000',
    },
  }));

  async function peer(mode: 'hang' | 'reset'): Promise<SilentPeer> {
    const p = await startSilentPeer(mode);
    closers.push(() => p.close());
    return p;
  }
  async function receiver(script?: Script): Promise<Receiver> {
    const r = await startReceiver(script);
    closers.push(() => r.close());
    return r;
  }

  /** Enrols one webhook per URL, some at a time, in order; resolves to their ids. */
  async function enrol(urls: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < urls.length; i += 50) {
      ids.push(...(await Promise.all(urls.slice(i, i + 50).map(async (u) => (await tocsin.addWebhook(u)).id))));
    }
    return ids;
  }

  async function publish(): Promise<string> {
    const document = documentText(sampleAdvisory({ id: uniqueId('CB') }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    return answer.json.id as string;
  }

  async function deliveries(id: string, of: string[]): Promise<Delivery[]> {
    const all = (await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.deliveries as Delivery[];
    const wanted = new Set(of);
    return all.filter((d) => wanted.has(d.recipient));
  }

  it('spends a handful of connections on hosts that hang or reset, and delivers to the healthy host at once', async () => {
    const hung = await peer('hang');
    const resetting = await peer('reset');
    const healthy = await receiver();
    // Dead hosts first: the batch reaches the healthy host's recipients last, the worst order.
    const hungIds = await enrol(Array.from({ length: 200 }, (_, i) => `http://127.0.0.1:${hung.port}/r/${i}`));
    const resetIds = await enrol(Array.from({ length: 100 }, (_, i) => `http://127.0.0.1:${resetting.port}/r/${i}`));
    const healthyIds = await enrol(Array.from({ length: 50 }, (_, i) => healthy.url(`/r/${i}`)));

    const started = Date.now();
    const id = await publish();
    await healthy.waitFor(50, 20_000);
    const healthyMs = Date.now() - started;
    // Before the first request to the hung host has even timed out.
    expect(healthyMs).toBeLessThan(TIMEOUT_MS);

    // Every dead recipient still walks the whole retry schedule and ends failed, as before.
    const dead = await eventually(async () => {
      const ds = await deliveries(id, [...hungIds, ...resetIds]);
      return ds.length === 300 && ds.every((d) => d.state === 'failed') ? ds : undefined;
    }, 40_000, 'every dead-host recipient failed');
    expect(dead.every((d) => d.attempts === MAX_ATTEMPTS)).toBe(true);
    const notAttempted = dead.filter((d) => /circuit open/.test(d.last_error ?? '')).length;
    expect(notAttempted).toBeGreaterThan(250);

    // 300 recipients x 12 attempts = 3,600 sends, of which each dead host saw a handful.
    const attempts = { hung: hung.requests(), hungConnections: hung.connections(), reset: resetting.connections() };
    console.log(`healthy host: 50 delivered in ${healthyMs} ms; dead hosts saw ${JSON.stringify(attempts)} for 3600 attempts`);
    expect(attempts.hung).toBeGreaterThanOrEqual(3);
    expect(attempts.hung).toBeLessThanOrEqual(12);
    expect(attempts.hungConnections).toBeLessThanOrEqual(12);
    expect(attempts.reset).toBeGreaterThanOrEqual(3);
    expect(attempts.reset).toBeLessThanOrEqual(20);
    expect((await deliveries(id, healthyIds)).every((d) => d.state === 'delivered' && d.attempts === 1)).toBe(true);
  });

  it("keeps the circuit closed when one host's endpoints answer 500: each failure is its own endpoint's", async () => {
    // Every endpoint fails twice with 500, then accepts: many partners on one host, each with its
    // own bug. Were a 500 held against the host, the threshold of 3 would open its circuit.
    const shared = await receiver((n) => ({ status: n < 2 ? 500 : 204 }));
    const ids = await enrol(Array.from({ length: 30 }, (_, i) => shared.url(`/r/${i}`)));
    const id = await publish();
    const done = await eventually(async () => {
      const ds = await deliveries(id, ids);
      return ds.every((d) => d.state === 'delivered') ? ds : undefined;
    }, 30_000, 'every endpoint delivered on its third attempt');
    expect(done.map((d) => d.attempts)).toEqual(ids.map(() => 3));
    // No send was held back by a circuit: every attempt reached the host.
    expect(shared.requests.filter((r) => r.path.startsWith('/r/')).length).toBe(90);
  });

  it('lets a probe through after the cool-down, and delivers the rest once the host answers again', async () => {
    let down = true;
    const flaky = await receiver(() => ({ status: down ? 502 : 204 }));
    const ids = await enrol(Array.from({ length: 40 }, (_, i) => flaky.url(`/r/${i}`)));
    const id = await publish();
    // Every recipient has failed at least once: the circuit is open.
    await eventually(async () => (await deliveries(id, ids)).every((d) => d.attempts >= 2), 20_000, 'a second attempt for every recipient');
    const duringOutage = flaky.requests.length;
    expect(duringOutage).toBeLessThanOrEqual(12);

    down = false;
    const done = await eventually(async () => {
      const ds = await deliveries(id, ids);
      return ds.every((d) => d.state === 'delivered') ? ds : undefined;
    }, 30_000, 'every recipient delivered after the host came back');
    expect(done).toHaveLength(40);
    // Each recipient was sent to once after recovery, plus the few sends of the outage.
    expect(flaky.requests.filter((r) => r.path.startsWith('/r/')).length).toBeLessThanOrEqual(40 + duringOutage);
  });
});
