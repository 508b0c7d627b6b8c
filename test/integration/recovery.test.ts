import { deleteRedisPrefix } from '../support/redis-prefix';
import { createLogger } from '../../src/log';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { SETTLED_MARK } from '../../src/queue/reconciler';
import { startWorkers } from '../../workers/start-workers';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** Wipes every key of this tocsin's prefix: what a Redis restart without persistence does. */
async function loseRedisState(tocsin: Tocsin): Promise<void> {
  await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
}

describe('recovery from the durable archive', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let partner: Receiver;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], workers: false });
    partner = await startReceiver();
  });
  afterAll(async () => {
    await partner?.close();
    await tocsin?.close();
    await publisher?.dispose();
  });

  it('delivers an accepted advisory whose queue state Redis lost, once, and never re-broadcasts a settled one', async () => {
    await tocsin.addWebhook(partner.url());
    const id = uniqueId();
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);

    // Redis restarts empty before any worker ran: the jobs, the notice and the recipients are gone.
    await loseRedisState(tocsin);
    expect(await tocsin.api.reconcile()).toBe(1);

    const workers = await startWorkers(tocsin.config, createLogger('silent'));
    try {
      await partner.waitFor(1, 15_000);
      const deliveries = await eventually(async () => {
        const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
        return r.json.summary.delivered === 1 ? r.json : undefined;
      });
      expect(deliveries.summary).toEqual({ pending: 0, delivered: 1, retrying: 0, failed: 0 });

      // Settled: recorded in the archive, so even another Redis loss queues nothing again.
      expect(await tocsin.api.reconcile()).toBe(0);
      expect(await createAdvisoryArchive(tocsin.config.dataDir).hasMark({ id, revision: 1 }, SETTLED_MARK)).toBe(true);
      await loseRedisState(tocsin);
      expect(await tocsin.api.reconcile()).toBe(0);
      expect(partner.requests.filter((r) => r.body.includes(id))).toHaveLength(1);
    } finally {
      await workers.close();
    }
  });
});
