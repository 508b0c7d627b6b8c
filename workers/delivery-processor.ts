import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { AdvisoryRef } from '../src/advisory/record';
import type { Channel, Notice } from '../src/channels/channel';
import type { ChannelName } from '../src/channels/channel-names';
import { PermanentDeliveryError } from '../src/channels/delivery-errors';
import type { DeliveryObserver, DeliveryOutcome, FailureReason } from '../src/delivery/delivery-outcome';
import type { DeliveryStateStore } from '../src/delivery/delivery-state';
import type { DeliveryState } from '../src/delivery/delivery-status';
import { failureOf } from '../src/delivery/public-delivery-view';
import type { DeliveryQueue } from '../src/queue/delivery-queues';
import { defaultFirstAttempt, retryJob, type DeliveryJobData, type NoticeStage } from '../src/queue/jobs';
import type { Recipient } from '../src/recipients/recipient';
import type { KeyedSemaphore } from '../src/util/keyed-semaphore';
import type { Semaphore } from '../src/util/semaphore';
import { delayAfter, ScheduledRetry, type RetryPolicy } from './retry-policy';

export interface DeliveryContext {
  channelName: ChannelName;
  channel: Channel<Recipient>;
  /** The signed notice of a revision's stage (the embargoed one, or the ordinary one). */
  notice: (ref: AdvisoryRef, stage?: NoticeStage) => Promise<Notice>;
  recipients: { getMany(ids: readonly string[]): Promise<Map<string, Recipient>> };
  states: DeliveryStateStore;
  queue: DeliveryQueue;
  limiter: Semaphore;
  /** Sends in flight per destination host, taken before a `limiter` slot: a dead host holds few of them. */
  perDestination: KeyedSemaphore;
  policy: RetryPolicy;
  log: Logger;
  /** Told every outcome (delivered, retry scheduled, failed for good): logs it and counts it. */
  observe: DeliveryObserver;
}

/** States are written in chunks of this many, each after the retry jobs it mentions exist... */
const FLUSH_EVERY = 250;
/**
 * ...or once the oldest unwritten state has waited this long: a recipient whose send takes until
 * its deadline must not hold back what the states of the quick ones say. Each state carries its
 * receipt, which must be on disk within a second of the outcome: half of it for this write, the
 * rest for the API's commit (see receipt-collector.ts).
 */
const FLUSH_AFTER_MS = 500;

const now = () => new Date().toISOString();
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** The failure in both forms: full text for the admin API, the closed summary for the public read. */
const failed = (err: unknown) => ({ last_error: errorText(err), failure: failureOf(err) });
const REMOVED = { last_error: 'recipient was removed', failure: { kind: 'recipient_removed' }, reason: 'recipient_removed' } as const;
const failureReason = (err: unknown): FailureReason => (err instanceof PermanentDeliveryError ? 'permanent' : 'attempts_exhausted');
type ObservedOutcome = DistributiveOmit<DeliveryOutcome, 'channel' | 'ref' | 'recipient' | 'attempt' | 'at'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * First attempt for a batch of recipients. Only recipients still `pending` are tried, so a batch
 * that runs again after a crash resends only what it had not recorded. A failure becomes that
 * recipient's own retry job; the state saying "retrying" is written only after the job exists.
 */
export async function processBatch(ctx: DeliveryContext, job: Job<DeliveryJobData<'batch'>>, signal: AbortSignal): Promise<string> {
  const { ref, recipients: ids, stage } = job.data;
  const notice = await ctx.notice(ref, stage);
  const states = await ctx.states.getMany(ctx.channelName, ref, ids);
  const todo = ids.filter((_, i) => (states[i]?.state ?? 'pending') === 'pending');
  const directory = await ctx.recipients.getMany(todo);
  // A batch that runs again (its worker died mid-run, or recovery queued it anew after Redis lost
  // it) may already have reached some of its pending recipients: a channel that cannot de-duplicate
  // by id looks for its earlier post first, as on a retry.
  const rerun = job.attemptsMade > 0 || job.stalledCounter > 0 || job.data.recovered === true ? { attempt: 1 } : undefined;

  let updates = new Map<string, DeliveryState>();
  let retries: { recipient: string; delay: number }[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const u = updates;
    const r = retries;
    updates = new Map();
    retries = [];
    flushing = flushing.then(async () => {
      if (r.length > 0) {
        await ctx.queue.addBulk(r.map(({ recipient, delay }) => retryJob(ref, recipient, { delay, maxAttempts: ctx.policy.maxAttempts, stage })));
      }
      await ctx.states.advance(ctx.channelName, ref, u);
    });
    return flushing;
  };
  /** Writes the pending states now if there are enough of them, else soon. */
  const recorded = (): Promise<void> | undefined => {
    if (updates.size >= FLUSH_EVERY) return flush();
    // A failed write stays in `flushing` and fails the batch at its last flush, as any other does.
    timer ??= setTimeout(() => void flush().catch(() => undefined), FLUSH_AFTER_MS);
    return undefined;
  };

  const slot = (id: string, task: () => Promise<void>) => {
    const recipient = directory.get(id);
    return ctx.perDestination.run(recipient ? ctx.channel.destination(recipient) : null, () => ctx.limiter.run(task));
  };

  const observe = (recipient: string, attempt: number, o: ObservedOutcome) => ctx.observe({ channel: ctx.channelName, ref, recipient, attempt, at: Date.now(), ...o });
  let delivered = 0;
  await Promise.all(
    todo.map((id) =>
      slot(id, async () => {
        // A cancelled job leaves the rest pending; a later run of the batch sends to them.
        if (signal.aborted) return;
        const recipient = directory.get(id);
        if (!recipient) {
          updates.set(id, { state: 'failed', attempts: 0, updated_at: now(), ...REMOVED });
          observe(id, 0, { outcome: 'failed', error: 'recipient was removed', reason: 'recipient_removed' });
        } else {
          try {
            const receipt = await ctx.channel.send(notice, recipient, signal, rerun);
            updates.set(id, { state: 'delivered', attempts: 1, updated_at: now(), detail: receipt.detail });
            observe(id, 1, { outcome: 'delivered', detail: receipt.detail });
            delivered += 1;
          } catch (err) {
            if (err instanceof PermanentDeliveryError || ctx.policy.maxAttempts <= 1) {
              updates.set(id, { state: 'failed', attempts: 1, updated_at: now(), ...failed(err), reason: failureReason(err) });
              observe(id, 1, { outcome: 'failed', error: errorText(err), reason: failureReason(err) });
            } else {
              const delay = delayAfter(ctx.policy, err, 2);
              retries.push({ recipient: id, delay });
              updates.set(id, {
                state: 'retrying',
                attempts: 1,
                updated_at: now(),
                ...failed(err),
                next_attempt_at: new Date(Date.now() + delay).toISOString(),
              });
              observe(id, 1, { outcome: 'retry_scheduled', error: errorText(err), retryInMs: delay });
            }
          }
        }
        await recorded();
      }),
    ),
  ).finally(() => clearTimeout(timer));
  await flush();
  return `${delivered}/${ids.length} delivered, ${ids.length - todo.length} already settled`;
}

/**
 * One later attempt for one recipient. On failure it records when the next attempt comes and
 * throws for BullMQ to schedule it; on the last attempt, or a permanent error, it marks the
 * delivery failed and tells BullMQ not to retry.
 */
export async function processRetry(ctx: DeliveryContext, job: Job<DeliveryJobData<'retry'>>, signal: AbortSignal): Promise<string> {
  const { ref, recipient: id, replay, stage } = job.data;
  // A replay's job starts a fresh schedule (its first run is attempt 1); a job recovery re-created
  // counts on from the attempts already made.
  const attempt = defaultFirstAttempt(job.data) + job.attemptsMade;
  const generation = replay?.generation ?? 0;
  const [current] = await ctx.states.getMany(ctx.channelName, ref, [id]);
  if ((current?.replays ?? 0) > generation) return `superseded by replay ${current?.replays}`;
  // A failed state from an earlier generation is what this replay is for; the replay's own
  // `retrying` state may not even be written yet (the job is queued first).
  if (current?.state === 'delivered' || (current?.state === 'failed' && (current.replays ?? 0) === generation)) return `already ${current.state}`;
  const notice = await ctx.notice(ref, stage);
  const recipient = (await ctx.recipients.getMany([id])).get(id);
  const stamp = replay ? { replays: replay.generation, replayed_at: replay.at } : {};
  const write = (state: DeliveryState) => ctx.states.advance(ctx.channelName, ref, new Map([[id, { ...state, ...stamp }]]));
  const observe = (n: number, o: ObservedOutcome) => ctx.observe({ channel: ctx.channelName, ref, recipient: id, attempt: n, at: Date.now(), ...o });
  if (!recipient) {
    await write({ state: 'failed', attempts: attempt - 1, updated_at: now(), ...REMOVED });
    observe(attempt - 1, { outcome: 'failed', error: 'recipient was removed', reason: 'recipient_removed' });
    return 'recipient removed';
  }
  try {
    // Every run of a retry job may follow an attempt that reached the peer and lost its answer.
    const receipt = await ctx.channel.send(notice, recipient, signal, { attempt });
    await write({ state: 'delivered', attempts: attempt, updated_at: now(), detail: receipt.detail });
    observe(attempt, { outcome: 'delivered', detail: receipt.detail });
    return receipt.detail;
  } catch (err) {
    const last = attempt >= ctx.policy.maxAttempts;
    if (err instanceof PermanentDeliveryError || last) {
      await write({ state: 'failed', attempts: attempt, updated_at: now(), ...failed(err), reason: failureReason(err) });
      observe(attempt, { outcome: 'failed', error: errorText(err), reason: failureReason(err) });
      throw new UnrecoverableError(errorText(err));
    }
    const delay = delayAfter(ctx.policy, err, attempt + 1);
    await write({
      state: 'retrying',
      attempts: attempt,
      updated_at: now(),
      ...failed(err),
      next_attempt_at: new Date(Date.now() + delay).toISOString(),
    });
    observe(attempt, { outcome: 'retry_scheduled', error: errorText(err), retryInMs: delay });
    throw new ScheduledRetry(delay, { cause: err });
  }
}
