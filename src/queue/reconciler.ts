import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { channelNames, type ChannelName } from '../channels/channel';
import { SETTLED_MARK, settledMarkFrom, type SettledMark } from '../delivery/dead-letters';
import type { DeliveryState, DeliveryStateStore } from '../delivery/delivery-state';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { AdvisoryRef, ArchivedAdvisory } from '../advisory/record';
import type { RecipientStore } from '../recipients/recipient-store';
import type { DeliveryQueues } from './delivery-queues';
import { jobIds, retryJob } from './jobs';
import { createRedisLock } from './redis-lock';
import { redisKeys } from './redis-keys';

export { SETTLED_MARK };

export interface ReconcilerDeps {
  archive: AdvisoryArchive;
  redis: Redis;
  prefix: string;
  states: DeliveryStateStore;
  recipients: RecipientStore;
  enqueue: (archived: ArchivedAdvisory, audience: Audience) => Promise<void>;
  queues: DeliveryQueues;
  /** Recipients per batch job, as `enqueue` splits them (to find a revision's batch jobs). */
  batchSize: number;
  /** Attempts per recipient on a channel, the first included. */
  maxAttempts: (channel: ChannelName) => number;
  log: Logger;
}

/**
 * Brings Redis back in line with the durable archive: the recipients, and for every archived
 * revision that is not yet settled, its queued jobs. Covers an enqueue that failed while Redis was down, and a
 * Redis that restarted empty. Revisions whose recipients are all settled are marked so in the
 * archive and skipped from then on. A recipient left `retrying` with no job to retry it (a worker
 * wrote that state into a Redis that had just restarted empty, where its job no longer existed)
 * gets its retry job back.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const keys = redisKeys(deps.prefix);
  // Several API processes may share one Redis prefix (two `tocsin serve`, a blue/green restart).
  const lock = createRedisLock(deps.redis, keys.recoveryLock, { log: deps.log });
  let running: Promise<number> | null = null;
  let tail: Promise<unknown> = Promise.resolve();

  /**
   * Runs `fn` while no pass runs, in this process or any other on the same prefix, and holds
   * passes off until it is done. In-process callers queue here rather than all polling Redis.
   */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const locked = () => lock.run(fn);
    const run = tail.then(locked, locked);
    tail = run.catch(() => undefined);
    return run;
  }

  async function statesOf(ref: AdvisoryRef, audience: Audience): Promise<Map<ChannelName, Map<string, DeliveryState>>> {
    const out: Map<ChannelName, Map<string, DeliveryState>> = new Map();
    for (const channel of channelNames) {
      if ((audience[channel] ?? []).length > 0) out.set(channel, await deps.states.getAll(channel, ref));
    }
    return out;
  }

  async function restoreLostRetries(ref: AdvisoryRef, states: Map<ChannelName, Map<string, DeliveryState>>): Promise<void> {
    for (const [channel, byRecipient] of states) {
      const retrying = [...byRecipient].filter((e): e is [string, DeliveryState] => e[1].state === 'retrying');
      for (const [recipient, state] of retrying) {
        // A replayed delivery's job has an id of its own generation.
        const replay = state.replays ? { generation: state.replays, at: state.replayed_at ?? new Date().toISOString() } : undefined;
        const jobId = replay ? jobIds.replay(ref, recipient, replay.generation) : jobIds.retry(ref, recipient);
        // A job that failed while its delivery still says `retrying` ended without recording an
        // outcome (an error outside the send used up its attempts): as good as lost.
        const jobState = await deps.queues[channel].getJobState(jobId);
        if (jobState === 'failed') await deps.queues[channel].remove(jobId);
        else if (jobState !== 'unknown') continue;
        const maxAttempts = deps.maxAttempts(channel);
        const delay = Math.max(0, Date.parse(state.next_attempt_at ?? '') - Date.now()) || 0;
        const job = retryJob(ref, recipient, { delay, maxAttempts, firstAttempt: Math.min(state.attempts + 1, maxAttempts), ...(replay ? { replay } : {}) });
        await deps.queues[channel].add('retry', job.data, job.opts);
        deps.log.warn({ advisory: ref.id, revision: ref.revision, channel, recipient }, 'recovery re-created a lost retry job');
      }
    }
  }

  /**
   * True when some recipients are still `pending` but no batch job of their channel is left to
   * send to them: the batches ran out of attempts (the recipient directory stayed missing from a
   * restarted Redis longer than their backoff), or were removed. Their dead jobs are removed so
   * that queueing the revision again re-creates them under the same ids.
   */
  async function clearDeadBatches(ref: AdvisoryRef, audience: Audience, states: Map<ChannelName, Map<string, DeliveryState>>): Promise<boolean> {
    let cleared = false;
    for (const [channel, byRecipient] of states) {
      const ids = audience[channel] ?? [];
      if (!ids.some((id) => (byRecipient.get(id)?.state ?? 'pending') === 'pending')) continue;
      const batchIds = Array.from({ length: Math.ceil(ids.length / deps.batchSize) }, (_, i) => jobIds.batch(ref, i));
      const jobStates = await Promise.all(batchIds.map((id) => deps.queues[channel].getJobState(id)));
      if (jobStates.some((st) => LIVE_JOB_STATES.has(st))) continue;
      await Promise.all(batchIds.map((id) => deps.queues[channel].remove(id)));
      cleared = true;
    }
    return cleared;
  }

  /**
   * Writes the settled mark, then reads the states again and takes the mark back if one moved:
   * a replay in another process that got in while this one's lock lapsed (Redis restarted, or
   * this process stalled past the lock's ttl) may have written `retrying` after the first read.
   * The replay removes the mark again after writing, which covers the other order. A state Redis
   * no longer has is no change: a Redis that just lost its data must not unsettle the revision.
   */
  async function settle(ref: AdvisoryRef, audience: Audience, mark: SettledMark): Promise<void> {
    await deps.archive.mark(ref, SETTLED_MARK, mark);
    const now = await statesOf(ref, audience);
    const moved = Object.entries(mark.deliveries ?? {}).some(([channel, kept]) =>
      Object.entries(kept).some(([id, state]) => {
        const current = now.get(channel as ChannelName)?.get(id);
        return current !== undefined && !isDeepStrictEqual(current, state);
      }),
    );
    if (!moved) return;
    await deps.archive.unmark(ref, SETTLED_MARK);
    deps.log.warn({ advisory: ref.id, revision: ref.revision }, 'a delivery changed while the revision was being marked settled: left unsettled for the next pass');
  }

  async function pass(): Promise<number> {
    // Recipients first: jobs queued into a Redis that lost them would find nobody to deliver to.
    await deps.recipients.syncToRedis(deps.redis);
    let queued = 0;
    let failed = 0;
    for (const record of await deps.archive.records()) {
      if (await deps.archive.hasMark(record, SETTLED_MARK)) continue;
      const archived = await deps.archive.get(record);
      if (!archived) continue;
      const audience = await deps.archive.audience(record);
      if ((await deps.redis.exists(keys.enqueued(record))) === 1) {
        const states = await statesOf(record, audience);
        const mark = settledMarkFrom(states, audience);
        if (mark) {
          await settle(record, audience, mark);
          continue;
        }
        await restoreLostRetries(record, states);
        if (!(await clearDeadBatches(record, audience, states))) continue;
        deps.log.warn({ advisory: record.id, revision: record.revision }, 'recovery found recipients pending with no batch job left');
      }
      try {
        await deps.enqueue(archived, audience);
      } catch (err) {
        // One revision that cannot be queued (its render timed out, say) must not hold back the
        // revisions after it: it is tried again at the next pass. A Redis outage fails the
        // pass earlier, at its first Redis call.
        failed += 1;
        deps.log.error({ advisory: record.id, revision: record.revision, err }, 'recovery could not queue an archived advisory: the next pass tries again');
        continue;
      }
      queued += 1;
      deps.log.info({ advisory: record.id, revision: record.revision }, 'recovery queued an archived advisory');
    }
    if (failed > 0) deps.log.warn({ queued, failed }, 'recovery pass left revisions it could not queue');
    return queued;
  }

  return {
    /** One pass; concurrent calls share it. Resolves to how many revisions it queued. */
    run(): Promise<number> {
      running ??= exclusive(pass).finally(() => {
        running = null;
      });
      return running;
    },
    /**
     * For a replay: the settled marks it reads and removes must not change under it, or a pass
     * could mark a revision settled again between the replay's removal and its queued job.
     */
    exclusive,
    /**
     * Resolves once the pass or replay running now (and any queued behind it) is over: a process
     * that stops waits for it, so its lock is released rather than left to run out.
     */
    idle: (): Promise<void> => tail.then(() => undefined),
  };
}

/** A job in one of these states will still run. */
const LIVE_JOB_STATES = new Set<string>(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
