import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { channelNames, type ChannelName } from '../channels/channel-names';
import { SETTLED_MARK, settledMarkOf } from '../delivery/dead-letters';
import { isSettled, openByReceipts, readSettlement, type SettleReading } from '../delivery/settle-reading';
import type { DeliveryStateStore } from '../delivery/delivery-state';
import type { DeliveryState } from '../delivery/delivery-status';
import { foldStates, type DeliveryReceipt, type DeliveryReceipts } from '../delivery/receipts';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { AdvisoryRef, ArchivedAdvisory } from '../advisory/record';
import type { RecipientStore } from '../recipients/recipient-store';
import type { DeliveryQueues } from './delivery-queues';
import { deliveryStages, type DeliveryStage } from './delivery-stages';
import { jobIds, retryJob, type NoticeStage } from './jobs';
import { createRedisLock } from './redis-lock';
import { redisKeys } from './redis-keys';

export { SETTLED_MARK };

export interface ReconcilerDeps {
  archive: AdvisoryArchive;
  redis: Redis;
  prefix: string;
  states: DeliveryStateStore;
  /** The durable receipts: what Redis knew of each delivery before it lost its data. */
  receipts: DeliveryReceipts;
  recipients: RecipientStore;
  /** Queues one stage of a revision again (see delivery-stages.ts), as recovered. */
  enqueue: (archived: ArchivedAdvisory, stage: DeliveryStage) => Promise<void>;
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
 * archive and skipped from then on: by each pass, and as soon as the receipt of the last one is on
 * disk (`receiptsCommitted`). A revision Redis lost is queued again with every state its receipts
 * know put back first, so its batches send only to recipients with no durable outcome. A
 * recipient left `retrying` with no job to retry it (a worker wrote that state into a Redis that
 * had just restarted empty, where its job no longer existed) gets its retry job back.
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

  /** The receipts' states with Redis's over them where Redis is further along (it is fresher), Redis read a chunk at a time. */
  async function statesOf(ref: AdvisoryRef, audience: Audience): Promise<Map<ChannelName, Map<string, DeliveryState>>> {
    const out = await deps.receipts.statesOf(ref);
    for (const channel of channelNames) {
      if ((audience[channel] ?? []).length === 0) {
        out.delete(channel);
        continue;
      }
      for await (const chunk of deps.states.scan(channel, ref)) foldStates(out, new Map([[channel, new Map(chunk)]]));
    }
    return out;
  }

  /** Puts back into Redis every state it lost that the receipts know, before the revision's batches are queued again. */
  async function restoreStates(ref: AdvisoryRef, states: Map<ChannelName, Map<string, DeliveryState>>): Promise<void> {
    for (const [channel, byRecipient] of states) await deps.states.restoreMissing(channel, ref, byRecipient);
  }

  async function restoreLostRetries(ref: AdvisoryRef, states: Map<ChannelName, Map<string, DeliveryState>>, stage: NoticeStage | undefined): Promise<void> {
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
        const job = retryJob(ref, recipient, { delay, maxAttempts, firstAttempt: Math.min(state.attempts + 1, maxAttempts), ...(replay ? { replay } : {}), stage });
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
  async function clearDeadBatches(ref: AdvisoryRef, stage: DeliveryStage, states: Map<ChannelName, Map<string, DeliveryState>>): Promise<boolean> {
    let cleared = false;
    for (const channel of channelNames) {
      const ids = stage.audience[channel] ?? [];
      const byRecipient = states.get(channel) ?? new Map<string, DeliveryState>();
      const pending = ids.filter((id) => (byRecipient.get(id)?.state ?? 'pending') === 'pending');
      if (pending.length === 0) continue;
      const batchIds = Array.from({ length: Math.ceil(ids.length / deps.batchSize) }, (_, i) => jobIds.batch(ref, i, stage.stage));
      const jobStates = await Promise.all(batchIds.map((id) => deps.queues[channel].getJobState(id)));
      if (jobStates.some((st) => LIVE_JOB_STATES.has(st))) continue;
      // A batch that completed after the states were read wrote its states first: read again
      // what looked pending, or its finished batches would be taken for dead ones.
      const now = await deps.states.getMany(channel, ref, pending);
      if (now.every((st) => st !== null && st.state !== 'pending')) continue;
      await Promise.all(batchIds.map((id) => deps.queues[channel].remove(id)));
      cleared = true;
    }
    return cleared;
  }

  /**
   * Writes the settled mark, then reads the outcomes again and takes the mark back if one moved:
   * a replay in another process that got in while this one's lock lapsed (Redis restarted, or
   * this process stalled past the lock's ttl) may have written `retrying` after the first read.
   * The replay removes the mark again after writing, which covers the other order. Only a change
   * of outcome counts, not a late copy of the same one with a new time; and a state Redis lost is
   * no change, since the receipts already held every outcome when the first read was made.
   */
  async function settle(ref: AdvisoryRef, audience: Audience, reading: SettleReading): Promise<void> {
    await deps.archive.mark(ref, SETTLED_MARK, settledMarkOf(reading));
    const now = await readSettlement(deps, ref, audience);
    if (now.outcomes === reading.outcomes) {
      // Settled: its receipts shrink to one line per recipient (a fan-out with retries wrote several).
      await deps.receipts.compact(ref, audience).catch((err: unknown) =>
        deps.log.warn({ advisory: ref.id, revision: ref.revision, err: (err as Error).message }, 'could not compact the receipts of a settled revision; they stay as they are'),
      );
      return;
    }
    await deps.archive.unmark(ref, SETTLED_MARK);
    deps.log.warn({ advisory: ref.id, revision: ref.revision }, 'a delivery changed while the revision was being marked settled: left unsettled for the next pass');
  }

  /** True when every stage of the revision is queued in Redis and one of its batch jobs will still run. */
  async function fanOutUnderWay(archived: ArchivedAdvisory): Promise<boolean> {
    const ref = archived.record;
    let live = false;
    for (const stage of await deliveryStages(deps.archive, archived)) {
      if ((await deps.redis.exists(keys.enqueued(ref, stage.stage))) === 0) return false;
      for (const channel of channelNames) {
        const batches = Math.ceil((stage.audience[channel] ?? []).length / deps.batchSize);
        // The last batches are the likeliest to be still running.
        for (let i = batches - 1; i >= 0 && !live; i--) live = LIVE_JOB_STATES.has(await deps.queues[channel].getJobState(jobIds.batch(ref, i, stage.stage)));
      }
    }
    return live;
  }

  /**
   * Gives back the retry jobs a fan-out under way lost (see restoreLostRetries), reading its
   * states from Redis a chunk at a time: Redis still holds the revision, so it is the freshest.
   */
  async function restoreLostRetriesDuringFanOut(archived: ArchivedAdvisory): Promise<void> {
    const ref = archived.record;
    const stages = await deliveryStages(deps.archive, archived);
    const embargoed = stages.find((s) => s.stage === 'embargoed');
    const ordinary = stages.find((s) => s.stage === undefined);
    for (const channel of channelNames) {
      const told = new Set(embargoed?.audience[channel] ?? []);
      for await (const chunk of deps.states.scan(channel, ref)) {
        const retrying = chunk.filter(([, s]) => s.state === 'retrying');
        if (retrying.length === 0) continue;
        // Under an embargo, its audience got the embargoed notice and everyone else the released one.
        const early = retrying.filter(([id]) => told.has(id));
        const late = retrying.filter(([id]) => !told.has(id));
        if (embargoed && early.length > 0) await restoreLostRetries(ref, new Map([[channel, new Map(early)]]), embargoed.stage);
        if (ordinary && late.length > 0) await restoreLostRetries(ref, new Map([[channel, new Map(late)]]), undefined);
      }
    }
  }

  async function pass(): Promise<number> {
    // Recipients first: jobs queued into a Redis that lost them would find nobody to deliver to.
    // Only when Redis lost them or missed a change: writing every recipient each pass cost the
    // API seconds of CPU per pass at 100,000 recipients.
    if (deps.recipients.mirrorBehind() || (await deps.redis.exists(keys.recipientsSynced)) === 0) await deps.recipients.syncToRedis(deps.redis);
    let queued = 0;
    let failed = 0;
    for (const record of await deps.archive.records()) {
      if (await deps.archive.hasMark(record, SETTLED_MARK)) continue;
      const archived = await deps.archive.get(record);
      if (!archived) continue;
      // A fan-out under way has nothing to recover yet, and reading its every state each pass
      // costs memory and CPU that grow with its audience: it is looked at once its batches end.
      if (await fanOutUnderWay(archived)) {
        await restoreLostRetriesDuringFanOut(archived);
        continue;
      }
      const audience = await deps.archive.audience(record);
      let reading = await readSettlement(deps, record, audience);
      if (reading.open === 0 && !isSettled(reading)) {
        // Every outcome final, some only in Redis: their receipts never reached the disk (or
        // are about to; a second copy of an outcome changes nothing). They are written now,
        // so that the receipts hold every outcome before the mark says so.
        await deps.receipts.append(reading.aheadOfReceipts);
        reading = await readSettlement(deps, record, audience);
      }
      if (isSettled(reading)) {
        // Also when Redis lost the revision: its receipts say every recipient is delivered or failed.
        await settle(record, audience, reading);
        continue;
      }
      const states = await statesOf(record, audience);
      // A revision under an embargo has two notices with recipients of their own: each stage is
      // checked and queued again on its own (see delivery-stages.ts).
      let restored = false;
      for (const stage of await deliveryStages(deps.archive, archived)) {
        const own = statesWithin(states, stage.audience);
        const lost = (await deps.redis.exists(keys.enqueued(record, stage.stage))) === 0;
        if (!lost) {
          await restoreLostRetries(record, own, stage.stage);
          if (!(await clearDeadBatches(record, stage, own))) continue;
          deps.log.warn({ advisory: record.id, revision: record.revision, stage: stage.stage ?? 'ordinary' }, 'recovery found recipients pending with no batch job left');
        }
        try {
          // The batches send only to recipients still pending: the states first, then the jobs.
          if (lost && !restored) await restoreStates(record, states);
          restored ||= lost;
          await deps.enqueue(archived, stage);
          if (lost) await restoreLostRetries(record, own, stage.stage);
        } catch (err) {
          // One revision that cannot be queued (its render timed out, say) must not hold back the
          // revisions after it: it is tried again at the next pass. A Redis outage fails the
          // pass earlier, at its first Redis call.
          failed += 1;
          deps.log.error({ advisory: record.id, revision: record.revision, err }, 'recovery could not queue an archived advisory: the next pass tries again');
          continue;
        }
        queued += 1;
        deps.log.info({ advisory: record.id, revision: record.revision, stage: stage.stage ?? 'ordinary' }, 'recovery queued an archived advisory');
      }
    }
    if (failed > 0) deps.log.warn({ queued, failed }, 'recovery pass left revisions it could not queue');
    return queued;
  }

  const toSettle = new Map<string, AdvisoryRef>();
  let settling: Promise<void> | null = null;
  /**
   * Per revision whose last check found recipients still open: how many were (`open`), and the
   * final receipts (delivered or failed) committed since (`finals`). Each open recipient needs
   * at least one final receipt before the revision can settle, so no check is worth its read of
   * every state until `finals` reaches `open`: without this, a fan-out to N recipients read all
   * N states at each of its commits (N/2,000 of them), in CPU and garbage quadratic in N.
   * Copies of one outcome only bring the next check forward, never hold it back.
   */
  const openAtLastCheck = new Map<string, { open: number; finals: number }>();

  /** Marks the revision settled when its receipts (and then Redis) say every recipient is delivered or failed. */
  async function settleIfDone(ref: AdvisoryRef): Promise<void> {
    if (await deps.archive.hasMark(ref, SETTLED_MARK)) return;
    const key = `${ref.id}:${ref.revision}`;
    const last = openAtLastCheck.get(key);
    if (last && last.finals < last.open) return;
    const counted = last?.finals ?? 0;
    const audience = await deps.archive.audience(ref);
    // The receipts alone first, without the lock: true only once, at the end of a fan-out.
    const open = await openByReceipts(deps.receipts, ref, audience);
    if (open > 0) {
      // Finals committed during the read stay counted: they may not be in what was read.
      const now = openAtLastCheck.get(key);
      openAtLastCheck.set(key, { open, finals: (now?.finals ?? 0) - counted });
      if (openAtLastCheck.size > REVISIONS_TRACKED) openAtLastCheck.delete(openAtLastCheck.keys().next().value as string);
      return;
    }
    openAtLastCheck.delete(key);
    await exclusive(async () => {
      if (await deps.archive.hasMark(ref, SETTLED_MARK)) return;
      // Read again under the lock: a release may have added recipients since the read above.
      const known = await deps.archive.audience(ref);
      const reading = await readSettlement(deps, ref, known);
      if (isSettled(reading)) await settle(ref, known, reading);
    });
  }

  async function settleQueued(): Promise<void> {
    for (const [key, ref] of toSettle) {
      toSettle.delete(key);
      await settleIfDone(ref).catch((err: unknown) =>
        deps.log.warn({ advisory: ref.id, revision: ref.revision, err: (err as Error).message }, 'could not mark a settled revision at once; the next pass will'),
      );
    }
  }

  return {
    /**
     * Told the receipts of each commit once they are on disk: a revision whose last delivery just
     * settled is marked so now, not at the next pass. Checks run one at a time, a revision once
     * per round however many of its receipts arrived meanwhile.
     */
    receiptsCommitted(receipts: readonly DeliveryReceipt[]): void {
      for (const r of receipts) {
        if (r.state !== 'delivered' && r.state !== 'failed') continue;
        const key = `${r.advisory}:${r.revision}`;
        toSettle.set(key, { id: r.advisory, revision: r.revision });
        const last = openAtLastCheck.get(key);
        if (last) last.finals += 1;
      }
      if (toSettle.size === 0 || settling) return;
      settling = (async () => {
        while (toSettle.size > 0) await settleQueued();
      })().finally(() => {
        settling = null;
      });
    },
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
    idle: async (): Promise<void> => {
      await settling;
      await tail;
    },
  };
}

/** Revisions whose count of open recipients the settle check keeps between commits. */
const REVISIONS_TRACKED = 16;

/** The states of the recipients in `audience` only: one stage's. */
function statesWithin(states: Map<ChannelName, Map<string, DeliveryState>>, audience: Audience): Map<ChannelName, Map<string, DeliveryState>> {
  const out = new Map<ChannelName, Map<string, DeliveryState>>();
  for (const [channel, byRecipient] of states) {
    const ids = new Set(audience[channel] ?? []);
    out.set(channel, new Map([...byRecipient].filter(([id]) => ids.has(id))));
  }
  return out;
}

/** A job in one of these states will still run. */
const LIVE_JOB_STATES = new Set<string>(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
