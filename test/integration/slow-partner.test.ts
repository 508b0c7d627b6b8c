import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startSilentPeer, type SilentPeer } from '../support/silent-peer';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** Short, so that the test sees it pass; the quick partners' states must not wait for it. */
const DEADLINE_MS = 3_000;
/** Slack for a loaded 2-core machine; a send without an overall deadline would take hours. */
const MARGIN_MS = 4_000;

/**
 * One partner in a batch answers 200 and then trickles its body, a byte every 200 ms, for ever:
 * its send ends at the webhook deadline, and the states of the quick partners in the same batch
 * are written before that, not after it.
 */
describe('a trickling partner in a batch', () => {
  const publisher = useGpgPublisher('sec@example.org');
  // The webhook timeout bounds each phase of a request; the whole of it ends at twice that.
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_WEBHOOK_TIMEOUT_MS: String(DEADLINE_MS / 2) } }));
  let trickler: SilentPeer;
  const quick: Receiver[] = [];

  beforeAll(async () => {
    // A chunked body that never ends: one byte of it per drip.
    trickler = await startSilentPeer({ answer: 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n', drip: '1\r\nx\r\n', bytes: 6, everyMs: 200 });
    for (let i = 0; i < 4; i++) quick.push(await startReceiver());
  });
  afterAll(async () => {
    await Promise.all(quick.map((r) => r.close()));
    await trickler?.close();
  });

  async function deliveries(id: string): Promise<Map<string, { state: string; attempts: number }>> {
    const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
    return new Map((r.json.deliveries as { recipient: string; state: string; attempts: number }[]).map((d) => [d.recipient, d]));
  }

  it('records the quick partners while the trickler still holds its send, and ends that send at the deadline', async () => {
    const slow = await tocsin.addWebhook(`http://127.0.0.1:${trickler.port}/hook`);
    const fast: { id: string }[] = [];
    for (const r of quick) fast.push(await tocsin.addWebhook(r.url()));
    const document = documentText(sampleAdvisory({ id: uniqueId() }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    const id = answer.json.id as string;
    const published = Date.now();

    const seen = await eventually(async () => {
      const states = await deliveries(id);
      return fast.every((r) => states.get(r.id)?.state === 'delivered') ? states : undefined;
    }, DEADLINE_MS + MARGIN_MS, 'the quick partners recorded delivered');
    // In the same read, the trickler is still being sent to: nothing waited for it.
    expect(seen.get(slow.id)?.state).toBe('pending');
    expect(trickler.open()).toBe(1);

    const done = await eventually(async () => {
      const s = (await deliveries(id)).get(slow.id);
      return s?.state === 'delivered' ? s : undefined;
    }, DEADLINE_MS + MARGIN_MS, 'the trickler recorded');
    // It answered 200 before trickling: delivered at the first attempt, and cut off at the deadline.
    expect(done.attempts).toBe(1);
    expect(Date.now() - published).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    await eventually(async () => trickler.open() === 0, MARGIN_MS, 'the trickled connection closed');
  });
});
