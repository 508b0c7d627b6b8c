import type { AdvisoryRef } from '../advisory/record';

/**
 * Every job a channel queue carries, names tied to payloads. The first attempt for many
 * recipients is one `batch` job; a recipient that fails gets its own `retry` job, whose attempts
 * and backoff BullMQ schedules.
 */
export type DeliveryJob =
  | { name: 'batch'; data: { ref: AdvisoryRef; recipients: string[] } }
  | { name: 'retry'; data: { ref: AdvisoryRef; recipient: string } };

export type DeliveryJobName = DeliveryJob['name'];
export type DeliveryJobData<N extends DeliveryJobName> = Extract<DeliveryJob, { name: N }>['data'];

/** Deterministic job ids, so the same work queued twice (recovery, a retried enqueue) runs once. */
export const jobIds = {
  batch: (ref: AdvisoryRef, index: number) => `${ref.id}.r${ref.revision}.batch${index}`,
  retry: (ref: AdvisoryRef, recipient: string) => `${ref.id}.r${ref.revision}.retry.${recipient}`,
};

/** The backoff type name registered with the workers' backoff strategy. */
export const BACKOFF_TYPE = 'tocsin-jitter';
