import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdvisoryRef, ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import type { ChannelName } from '../channels/channel-names';
import { loadRevisionView, SETTLED_MARK, type RevisionView } from '../delivery/dead-letters';
import type { DeliveryStateStore } from '../delivery/delivery-state';
import type { DeliveryState } from '../delivery/delivery-status';
import type { DeliveryReceipts } from '../delivery/receipts';
import type { FieldProblem } from '../publish/intake-errors';
import type { RecipientStore } from '../recipients/recipient-store';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { DeliveryQueues } from './delivery-queues';
import { deliveryStages, type DeliveryStage } from './delivery-stages';
import { retryJob, type NoticeStage } from './jobs';
import type { NoticeVariant } from '../notices/notice-variant';
import { redisKeys } from './redis-keys';

/** What an operator asked to replay. */
export type ReplaySelection =
  | { ref: AdvisoryRef; channel?: ChannelName; recipients?: readonly string[] }
  | { allFailed: true; channel?: ChannelName };

export interface ReplayedDelivery {
  advisory: string;
  revision: number;
  channel: ChannelName;
  recipient: string;
  /** The replay generation now scheduled: 1 for the first replay of this delivery. */
  replay: number;
}

export interface ReplayOutcome {
  replayed: ReplayedDelivery[];
  /** Failed deliveries a selection by advisory or `allFailed` left alone, with the reason. */
  skipped: (Omit<ReplayedDelivery, 'replay'> & { reason: string })[];
}

/** Named recipients that are not in the revision's audience (over the channel asked for). */
export class UnknownDeliveryError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'UnknownDeliveryError';
  }
}

/** Named deliveries that cannot be replayed (not failed, or the recipient was removed): nothing was changed. */
export class NotReplayableError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'NotReplayableError';
  }
}

export interface ReplayDeps {
  archive: AdvisoryArchive;
  redis: Redis;
  prefix: string;
  states: DeliveryStateStore;
  /** The durable receipts: which deliveries failed, after Redis lost its copy too. */
  receipts: DeliveryReceipts;
  queues: DeliveryQueues;
  recipients: RecipientStore;
  /** Renders and signs notices, as for a first enqueue (needed when Redis lost the stored one). */
  render: (archived: ArchivedAdvisory, audience: Audience, variant?: NoticeVariant) => Promise<Map<ChannelName, Notice>>;
  /** The reconciler's lock: no pass may re-mark a revision settled in the middle of a replay. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Attempts in a full schedule of a channel: each replay gets all of them again. */
  maxAttempts: (channel: ChannelName) => number;
  log: Logger;
}

interface Chosen {
  channel: ChannelName;
  recipient: string;
  state: DeliveryState;
}

/**
 * Gives failed deliveries a fresh, full retry schedule with the same notice (same webhook-id,
 * Message-ID, Idempotency-Key). Per revision, in an order that survives a crash or a Redis loss
 * at any step:
 *
 * 1. a settled revision's states are restored into Redis from its mark (what a Redis data loss
 *    forgot) and the mark is removed, so a Redis loss after the replay re-queues the revision
 *    instead of forgetting the replay;
 * 2. the notice is stored again if Redis lost it;
 * 3. one retry job per delivery, its id naming the replay generation, so concurrent replays of
 *    one generation queue it once and the previous schedule's failed job never blocks it;
 * 4. the `retrying` state, written only over a failed state of an earlier generation (the job
 *    may already have run and written its own outcome).
 */
export function createDeliveryReplayer(deps: ReplayDeps) {
  const keys = redisKeys(deps.prefix);

  /** Picks the deliveries of one revision to replay; throws before anything changed. */
  function choose(view: RevisionView, channel: ChannelName | undefined, named: readonly string[] | undefined, outcome: ReplayOutcome): Chosen[] {
    const where = (recipient: string) => [...view.states.keys()].find((c) => (view.audience[c] ?? []).includes(recipient));
    const chosen: Chosen[] = [];
    if (named) {
      const unknown: FieldProblem[] = [];
      const refused: FieldProblem[] = [];
      named.forEach((recipient, i) => {
        const c = where(recipient);
        const field = `recipients.${i}`;
        if (!c) {
          unknown.push({ field, message: `${recipient} is not a recipient of ${view.ref.id} revision ${view.ref.revision}${channel ? ` over ${channel}` : ''}` });
          return;
        }
        const state = view.states.get(c)?.get(recipient);
        if (state?.state !== 'failed') refused.push({ field, message: `${recipient} is ${state?.state ?? 'pending'}, not failed: only failed deliveries are replayed` });
        else if (!deps.recipients.has(recipient)) refused.push({ field, message: `${recipient} was removed: enrol it again to deliver to it` });
        else chosen.push({ channel: c, recipient, state });
      });
      if (unknown.length > 0) throw new UnknownDeliveryError(unknown);
      if (refused.length > 0) throw new NotReplayableError(refused);
      return chosen;
    }
    for (const [c, states] of view.states) {
      for (const recipient of view.audience[c] ?? []) {
        const state = states.get(recipient);
        if (state?.state !== 'failed') continue;
        if (!deps.recipients.has(recipient)) {
          outcome.skipped.push({ advisory: view.ref.id, revision: view.ref.revision, channel: c, recipient, reason: 'recipient was removed' });
        } else chosen.push({ channel: c, recipient, state });
      }
    }
    return chosen;
  }

  async function replayRevision(view: RevisionView, chosen: Chosen[], at: string): Promise<ReplayedDelivery[]> {
    const { ref } = view;
    if (view.mark) {
      const kept = view.mark.receipts_complete === true || view.mark.deliveries !== undefined || view.mark.failed !== undefined;
      if (kept && (await deps.redis.exists(keys.enqueued(ref))) === 0) {
        // Redis lost this settled revision: put back what the mark knows, so that the reconciler
        // sees it queued and settled-but-for-the-replay, not as new work to broadcast again.
        await deps.recipients.syncToRedis(deps.redis);
        for (const [channel, ids] of Object.entries(view.audience) as [ChannelName, string[]][]) {
          const marked = view.states.get(channel) ?? new Map<string, DeliveryState>();
          const restored = new Map<string, DeliveryState>();
          for (const id of ids) {
            // Older marks kept only the failed: everyone else of the audience was delivered.
            restored.set(id, marked.get(id) ?? { state: 'delivered', attempts: 0, updated_at: view.mark.at, detail: 'delivered before settling (restored from the archive)' });
          }
          await deps.states.restoreMissing(channel, ref, restored);
        }
        await deps.redis.set(keys.enqueued(ref), view.mark.at, 'NX');
      }
      await deps.archive.unmark(ref, SETTLED_MARK);
    }

    // Under an embargo a revision has two notices: each recipient is sent again the one it was meant.
    const archived = await deps.archive.get(ref);
    if (!archived) throw new Error(`${ref.id} revision ${ref.revision} is not in the archive`);
    const stages = await deliveryStages(deps.archive, archived);
    const stageOf = (c: Chosen): DeliveryStage | undefined => stages.find((s) => (s.audience[c.channel] ?? []).includes(c.recipient));
    for (const stage of stages) {
      const channels = [...new Set(chosen.filter((c) => stageOf(c) === stage).map((c) => c.channel))];
      const missing = [];
      for (const channel of channels) if ((await deps.redis.exists(keys.notice(channel, ref, stage.stage))) === 0) missing.push(channel);
      if (missing.length === 0) continue;
      const notices = await deps.render(archived, Object.fromEntries(missing.map((c) => [c, stage.audience[c] ?? []])), stage.variant);
      // NX, as at first enqueue: a notice still stored keeps its bytes. The ids are derived from
      // the revision, so a re-rendered notice carries the same webhook-id and Message-ID.
      for (const [channel, notice] of notices) await deps.redis.set(keys.notice(channel, ref, stage.stage), JSON.stringify(notice), 'NX');
    }

    const replayed = chosen.map((c) => ({ ...c, generation: (c.state.replays ?? 0) + 1, stage: stageOf(c)?.stage as NoticeStage | undefined }));
    for (const channel of new Set(chosen.map((c) => c.channel))) {
      await deps.queues[channel].addBulk(
        replayed
          .filter((r) => r.channel === channel)
          .map((r) => retryJob(ref, r.recipient, { delay: 0, maxAttempts: deps.maxAttempts(channel), replay: { generation: r.generation, at }, stage: r.stage })),
      );
    }
    for (const r of replayed) {
      await deps.states.writeReplayed(r.channel, ref, r.recipient, {
        state: 'retrying',
        attempts: 0,
        updated_at: at,
        ...(r.state.last_error !== undefined ? { last_error: r.state.last_error } : {}),
        ...(r.state.failure !== undefined ? { failure: r.state.failure } : {}),
        next_attempt_at: at,
        replays: r.generation,
        replayed_at: at,
      });
    }
    // Again, now that `retrying` is written: a pass in another process that got in while the
    // lock lapsed (see redis-lock.ts) may have settled the revision from the states before.
    await deps.archive.unmark(ref, SETTLED_MARK);
    deps.log.info({ advisory: ref.id, revision: ref.revision, deliveries: replayed.length }, 'replaying failed deliveries');
    return replayed.map((r) => ({ advisory: ref.id, revision: ref.revision, channel: r.channel, recipient: r.recipient, replay: r.generation }));
  }

  return {
    /** Throws {@link UnknownDeliveryError} or {@link NotReplayableError} before changing anything. */
    replay(selection: ReplaySelection): Promise<ReplayOutcome> {
      return deps.exclusive(async () => {
        const at = new Date().toISOString();
        const outcome: ReplayOutcome = { replayed: [], skipped: [] };
        const refs = 'ref' in selection ? [selection.ref] : await deps.archive.records();
        const plan: { view: RevisionView; chosen: Chosen[] }[] = [];
        for (const ref of refs) {
          const view = await loadRevisionView(deps, ref, selection.channel);
          const chosen = choose(view, selection.channel, 'ref' in selection ? selection.recipients : undefined, outcome);
          if (chosen.length > 0) plan.push({ view, chosen });
        }
        for (const { view, chosen } of plan) outcome.replayed.push(...(await replayRevision(view, chosen, at)));
        return outcome;
      });
    },
  };
}
export type DeliveryReplayer = ReturnType<typeof createDeliveryReplayer>;
