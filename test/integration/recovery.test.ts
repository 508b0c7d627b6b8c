import { deleteRedisPrefix } from '../support/redis-prefix';
import { createLogger } from '../../src/log';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { SETTLED_MARK } from '../../src/queue/reconciler';
import { createDeliveryStateStore } from '../../src/delivery/delivery-state';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { jobIds, retryJob } from '../../src/queue/jobs';
import { startWorkers } from '../../workers/start-workers';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import type { Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** Wipes every key of this tocsin's prefix: what a Redis restart without persistence does. */
async function loseRedisState(tocsin: Tocsin): Promise<void> {
  await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
}

describe('recovery from the durable archive', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false }));
  let partner: Receiver;

  /** Waits until `recipient`'s delivery of `id` is `delivered`, and resolves to it. */
  const deliveredTo = (id: string, recipient: string, what: string) =>
    eventually(async () => {
      const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
      const d = (r.json.deliveries as { recipient: string; state: string; attempts: number }[]).find((x) => x.recipient === recipient);
      return d?.state === 'delivered' ? d : undefined;
    }, 20_000, what);

  beforeAll(async () => {
    partner = await startReceiver();
  });
  afterAll(async () => {
    await partner?.close();
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
      // The final states were kept with the mark: the lost Redis copy does not turn them pending.
      const after = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`);
      expect(after.json.summary).toEqual({ pending: 0, delivered: 1, retrying: 0, failed: 0 });
      expect(after.json.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 1, detail: 'HTTP 204' });
    } finally {
      await workers.close();
    }
  });

  it('queues a revision again when recipients are pending and no batch job is left to reach them', async () => {
    const id = uniqueId();
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    // Its batch is waiting: nothing to do.
    expect(await tocsin.api.reconcile()).toBe(0);
    // The batch is gone (ran out of attempts and was cleaned, or removed by hand).
    const queue = new Queue('webhook', { connection: { url: tocsin.config.redisUrl }, prefix: tocsin.config.prefix });
    try {
      expect(await queue.remove(jobIds.batch({ id, revision: 1 }, 0))).toBe(1);
    } finally {
      await queue.close();
    }
    expect(await tocsin.api.reconcile()).toBe(1);

    const workers = await startWorkers(tocsin.config, createLogger('silent'));
    try {
      const deliveries = await eventually(async () => {
        const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
        return r.json.summary.pending === 0 ? r.json : undefined;
      });
      expect(deliveries.summary.delivered).toBe(deliveries.deliveries.length);
    } finally {
      await workers.close();
    }
  });

  it('gives a recipient left "retrying" with no retry job its job back, and it is delivered', async () => {
    const recipient = await tocsin.addWebhook(partner.url('/orphan'));
    const id = uniqueId();
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    // What a worker leaves when it writes "retrying" into a Redis that just restarted empty: the
    // state is there, the job that would retry it is not.
    const redis = new Redis(tocsin.config.redisUrl);
    try {
      const next = new Date(Date.now() + 200).toISOString();
      await createDeliveryStateStore(redis, tocsin.config.prefix).write(
        'webhook',
        { id, revision: 1 },
        new Map([[recipient.id, { state: 'retrying' as const, attempts: 3, updated_at: new Date().toISOString(), last_error: 'HTTP 500', next_attempt_at: next }]]),
      );
    } finally {
      redis.disconnect();
    }
    await tocsin.api.reconcile();

    const workers = await startWorkers(tocsin.config, createLogger('silent'));
    try {
      const deliveries = await deliveredTo(id, recipient.id, 'the re-created job delivered');
      // The re-created job goes on counting from the attempts already made.
      expect(deliveries).toMatchObject({ state: 'delivered', attempts: 4 });
      expect(partner.requests.filter((r) => r.path === '/orphan' && r.body.includes(id))).toHaveLength(1);
    } finally {
      await workers.close();
    }
  });

  it('lets a job that finds its notice and recipients gone wait for recovery, without using up attempts', async () => {
    const recipient = await tocsin.addWebhook(partner.url('/waited'));
    const id = uniqueId();
    const ref = { id, revision: 1 };
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    // Redis restarts empty, and a batch that was in flight queues a retry job into it: the job
    // exists, but the notice and the recipient directory it needs are gone until recovery runs.
    await loseRedisState(tocsin);
    const queue = new Queue('webhook', { connection: { url: tocsin.config.redisUrl }, prefix: tocsin.config.prefix });
    const workers = await startWorkers(tocsin.config, createLogger('silent'));
    try {
      const lost = retryJob(ref, recipient.id, { delay: 0, maxAttempts: 3 });
      await queue.add('retry', lost.data, lost.opts);
      // It has run and been put back several times; not one of those runs counted as an attempt.
      const waiting = await eventually(async () => {
        const job = await queue.getJob(jobIds.retry(ref, recipient.id));
        return job && job.attemptsStarted >= 4 ? job : undefined;
      }, 30_000, 'the job ran and waited a few times');
      expect(waiting.attemptsMade).toBe(0);
      expect(partner.requests.filter((r) => r.path === '/waited')).toHaveLength(0);

      await tocsin.api.reconcile();
      const mine = await deliveredTo(id, recipient.id, 'delivered once recovery restored the notice');
      // By the batch recovery queued again (attempt 1) or by the waiting job (attempt 2, the
      // attempt it was queued for), whichever ran first: never a count inflated by the waits.
      expect([1, 2]).toContain(mine.attempts);
    } finally {
      await workers.close();
      await queue.close();
    }
  });

  it('gives a recipient left "retrying" whose retry job failed without recording why its job back', async () => {
    const recipient = await tocsin.addWebhook(partner.url('/revived'));
    const id = uniqueId();
    const ref = { id, revision: 1 };
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    const redis = new Redis(tocsin.config.redisUrl);
    const queue = new Queue('webhook', { connection: { url: tocsin.config.redisUrl }, prefix: tocsin.config.prefix });
    try {
      // A retry job that failed for good on an error outside the send (its state still says retrying).
      await createDeliveryStateStore(redis, tocsin.config.prefix).write(
        'webhook',
        ref,
        new Map([[recipient.id, { state: 'retrying' as const, attempts: 2, updated_at: new Date().toISOString(), last_error: 'HTTP 500' }]]),
      );
      const spent = retryJob(ref, recipient.id, { delay: 0, maxAttempts: 3 });
      const job = await queue.add('retry', spent.data, { ...spent.opts, attempts: 1 });
      const token = 'recovery-test-token';
      const taker = new Worker('webhook', null, { connection: { url: tocsin.config.redisUrl }, prefix: tocsin.config.prefix, autorun: false });
      try {
        // Drain what the batch left ahead of it: only the retry job matters here.
        let taken = await taker.getNextJob(token);
        while (taken && taken.id !== job.id) {
          await taken.moveToDelayed(Date.now() + 60_000, token);
          taken = await taker.getNextJob(token);
        }
        expect(taken?.id).toBe(job.id);
        await taken!.moveToFailed(new Error('no webhook notice stored'), token);
      } finally {
        await taker.close();
      }
      expect(await queue.getJobState(job.id!)).toBe('failed');
    } finally {
      redis.disconnect();
    }
    try {
      await tocsin.api.reconcile();
      expect(await queue.getJobState(jobIds.retry(ref, recipient.id))).not.toBe('failed');
      const workers = await startWorkers(tocsin.config, createLogger('silent'));
      try {
        const mine = await deliveredTo(id, recipient.id, 'the revived job delivered');
        expect(mine.attempts).toBeGreaterThanOrEqual(1);
      } finally {
        await workers.close();
      }
    } finally {
      await queue.close();
    }
  });
});
