import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DeliveryReceipt } from '../../src/delivery/receipts';
import { SETTLED_MARK } from '../../src/delivery/dead-letters';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { startSilentPeer, type SilentPeer } from '../support/silent-peer';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** A send to the hanging peer ends at this deadline: long enough to wipe Redis while it is in flight. */
const DEADLINE_MS = 4_000;

/**
 * The receipts beside the archive: every outcome a worker records reaches
 * advisories/<id>/<revision>/receipts.jsonl within a second, and a Redis that loses its data
 * forgets nothing they hold: no delivered recipient is sent to again, and the reads still show it.
 */
describe('delivery receipts', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let partner: Receiver;
  let hang: SilentPeer;

  // Hooks run in the order they are declared: the hanging peer goes before tocsin closes.
  afterEach(async () => {
    await hang?.close();
  });
  // A tocsin of its own per test: what one test left in flight is not another's recovery.
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_WEBHOOK_TIMEOUT_MS: String(DEADLINE_MS), TOCSIN_WEBHOOK_MAX_ATTEMPTS: '2' } }), { per: 'each' });
  beforeEach(async () => {
    // 410 at /gone: a dead letter at its first attempt; 204 everywhere else.
    partner = await startReceiver((_, req) => ({ status: req.path.startsWith('/gone') ? 410 : 204 }));
    hang = await startSilentPeer('hang');
  });
  afterEach(async () => {
    await partner?.close();
  });

  const receiptsOf = async (id: string): Promise<DeliveryReceipt[]> => {
    const text = await readFile(path.join(tocsin.config.dataDir, 'advisories', id, '1', 'receipts.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as DeliveryReceipt);
  };
  const sentTo = (p: string, id: string) => partner.requests.filter((r) => r.path === p && r.body.includes(id)).length;
  async function publish(): Promise<string> {
    const id = uniqueId();
    const document = documentText(sampleAdvisory({ id }));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(r.status).toBe(202);
    return id;
  }
  const admin = async (id: string) => (await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`)).json as { summary: Record<string, number>; deliveries: { recipient: string; state: string }[] };

  it("puts an outcome on disk within a second of the peer's answer, while another send of its batch still hangs", async () => {
    const quick = await tocsin.addWebhook(partner.url('/quick'));
    const slow = await tocsin.addWebhook(`http://127.0.0.1:${hang.port}/hook`);
    const before = partner.requests.length;
    const id = await publish();
    await partner.waitFor(before + 1, 15_000);
    const answered = partner.requests.at(-1)!.at;

    const [receipt] = await eventually(async () => {
      const found = (await receiptsOf(id)).filter((r) => r.recipient === quick.id);
      return found.length > 0 ? found : undefined;
    }, 5_000, 'the receipt on disk');
    expect(Date.now() - answered).toBeLessThan(1_000);
    expect(receipt).toMatchObject({ advisory: id, revision: 1, channel: 'webhook', recipient: quick.id, state: 'delivered', attempts: 1, detail: 'HTTP 204' });
    expect(Date.parse(receipt!.updated_at)).toBeGreaterThanOrEqual(answered - 1_000);
    // The hanging send is still in flight: nothing waited for it.
    expect((await receiptsOf(id)).some((r) => r.recipient === slow.id)).toBe(false);
  });

  it('marks a revision settled as soon as its last delivery settles, and a Redis wiped right after sends nothing again', async () => {
    const paths = Array.from({ length: 20 }, (_, i) => `/done${i}`);
    const enrolled = [];
    for (const p of paths) enrolled.push(await tocsin.addWebhook(partner.url(p)));
    const id = await publish();
    const ref = { id, revision: 1 };
    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    // No reconcile pass runs here (the periodic one is 30 s away): the last receipt settles it.
    await eventually(() => archive.hasMark(ref, SETTLED_MARK), 5_000, 'the settled mark');
    expect((await receiptsOf(id)).filter((r) => r.state === 'delivered')).toHaveLength(enrolled.length);

    await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
    expect(await tocsin.api.reconcile()).toBe(0);
    expect(paths.map((p) => sentTo(p, id))).toEqual(paths.map(() => 1));
    expect((await admin(id)).summary).toMatchObject({ pending: 0, delivered: enrolled.length });
  });

  it('after Redis loses its data mid-fan-out, sends only to recipients with no durable outcome, and reads the receipts meanwhile', async () => {
    const paths = Array.from({ length: 20 }, (_, i) => `/mid${i}`);
    const enrolled = [];
    for (const p of paths) enrolled.push(await tocsin.addWebhook(partner.url(p)));
    const gone = await tocsin.addWebhook(partner.url('/gone-mid'));
    await tocsin.addWebhook(`http://127.0.0.1:${hang.port}/mid`);
    const connectionsBefore = hang.connections();
    const id = await publish();
    const ref = { id, revision: 1 };

    // Every quick outcome is on disk; the hanging send is still in flight.
    await eventually(async () => (await receiptsOf(id)).filter((r) => r.state !== 'retrying').length === enrolled.length + 1, 10_000, 'the quick receipts on disk');
    const shown = await admin(id);
    expect(shown.summary).toEqual({ pending: 1, delivered: enrolled.length, retrying: 0, failed: 1 });

    await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
    // Before recovery, Redis knows nothing: the reads come from the receipts.
    expect((await admin(id)).summary).toEqual(shown.summary);
    const dead = await tocsin.admin('GET', `/v1/deliveries?advisory=${id}`);
    expect(dead.json.deliveries).toEqual([expect.objectContaining({ recipient: gone.id, attempts: 1 })]);
    expect(await createAdvisoryArchive(tocsin.config.dataDir).hasMark(ref, SETTLED_MARK)).toBe(false);

    expect(await tocsin.api.reconcile()).toBe(1);
    // The queued-again batch ran: it sent again to the one delivery that was in flight...
    await eventually(async () => hang.connections() >= connectionsBefore + 2, 10_000, 'the in-flight send repeated');
    // ...and to nobody with a durable outcome.
    const settled = await eventually(async () => {
      const d = await admin(id);
      return d.summary.pending === 0 && d.summary.retrying === 0 ? d : undefined;
    }, 4 * DEADLINE_MS, 'every delivery settled');
    expect(settled.summary).toEqual({ pending: 0, delivered: enrolled.length, retrying: 0, failed: 2 });
    expect(paths.map((p) => sentTo(p, id))).toEqual(paths.map(() => 1));
    expect(sentTo('/gone-mid', id)).toBe(1);

    // Settled, its receipts (the hanging one's retry among them) shrink to one line per recipient.
    const compacted = await eventually(async () => {
      const receipts = await receiptsOf(id);
      return receipts.length === enrolled.length + 2 ? receipts : undefined;
    }, 5_000, 'the receipts compacted');
    expect(new Set(compacted.map((r) => r.recipient)).size).toBe(compacted.length);
    expect((await admin(id)).summary).toEqual(settled.summary);
  }, 40_000);
});
