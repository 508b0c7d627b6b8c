import type { AdvisoryRef } from '../advisory/record';

/**
 * Every job a channel queue carries, names tied to payloads. The first attempt for many
 * recipients is one `batch` job; a recipient that fails gets its own `retry` job, whose attempts
 * and backoff BullMQ schedules. A batch is `recovered` when recovery queued it again: an earlier
 * copy, lost with Redis, may have reached some recipients already.
 */
export type DeliveryJob =
  | { name: 'batch'; data: { ref: AdvisoryRef; recipients: string[]; recovered?: true; stage?: NoticeStage } }
  | { name: 'retry'; data: { ref: AdvisoryRef; recipient: string; firstAttempt?: number; replay?: ReplayGeneration; stage?: NoticeStage } };

/**
 * Which of a revision's notices a job delivers. A revision sent under an embargo has two: the
 * `embargoed` one its audience gets at acceptance (it says `EMBARGOED until ...`), and the ordinary
 * one everyone else gets at release. Absent: the ordinary notice. A recipient gets one of them,
 * never both, so delivery states and receipts stay one per recipient and revision.
 */
export type NoticeStage = 'embargoed';

/**
 * Set on the retry job an operator's replay queues: its first run is attempt 1 of a fresh
 * schedule, and every state it writes carries the generation.
 */
export interface ReplayGeneration {
  /** 1 for the first replay of a delivery, then 2, ... */
  generation: number;
  /** When the replay was asked for. */
  at: string;
}

export type DeliveryJobName = DeliveryJob['name'];
export type DeliveryJobData<N extends DeliveryJobName> = Extract<DeliveryJob, { name: N }>['data'];

/** Deterministic job ids, so the same work queued twice (recovery, a retried enqueue) runs once. */
export const jobIds = {
  /** The embargoed stage's batches have ids of their own: the release's batches number from 0 too. */
  batch: (ref: AdvisoryRef, index: number, stage?: NoticeStage) => `${ref.id}.r${ref.revision}.${stage ? `${stage}.` : ''}batch${index}`,
  retry: (ref: AdvisoryRef, recipient: string) => `${ref.id}.r${ref.revision}.retry.${recipient}`,
  /** A new id per generation: the failed job of the schedule before may still be kept by BullMQ. */
  replay: (ref: AdvisoryRef, recipient: string, generation: number) => `${ref.id}.r${ref.revision}.replay${generation}.${recipient}`,
};

/** The backoff type name registered with the workers' backoff strategy. */
export const BACKOFF_TYPE = 'tocsin-jitter';

/** The attempt a retry job's first run makes when its data does not say: 2 after a failed batch attempt, 1 for a replay. */
export const defaultFirstAttempt = (data: DeliveryJobData<'retry'>) => data.firstAttempt ?? (data.replay ? 1 : 2);

/**
 * The job that makes a recipient's later attempts, from `firstAttempt` (2, after a failed first
 * one; more when recovery re-creates a lost job; 1 for an operator's replay, which starts a fresh
 * schedule under a job id of its own) up to `maxAttempts`, BullMQ scheduling each.
 */
export function retryJob(ref: AdvisoryRef, recipient: string, o: { delay: number; maxAttempts: number; firstAttempt?: number; replay?: ReplayGeneration; stage?: NoticeStage | undefined }) {
  const firstAttempt = o.firstAttempt ?? (o.replay ? 1 : 2);
  return {
    name: 'retry' as const,
    data: { ref, recipient, ...(firstAttempt !== 2 ? { firstAttempt } : {}), ...(o.replay ? { replay: o.replay } : {}), ...(o.stage ? { stage: o.stage } : {}) },
    opts: {
      jobId: o.replay ? jobIds.replay(ref, recipient, o.replay.generation) : jobIds.retry(ref, recipient),
      delay: o.delay,
      attempts: Math.max(1, o.maxAttempts - firstAttempt + 1),
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  };
}
