import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import type { NoticeStage } from './jobs';

/**
 * Every Redis key tocsin writes besides BullMQ's own, in one place. BullMQ's keys are
 * `<prefix>:<queue name>:...`, and no queue is named like the segments used here.
 */
export function redisKeys(prefix: string) {
  const ref = (r: AdvisoryRef) => `${r.id}:${r.revision}`;
  return {
    /** Hash: recipient id -> recipient JSON (secrets included: workers need them). */
    recipients: `${prefix}:recipients`,
    /** Set once a full sync has filled `recipients`: absent, a missing recipient proves nothing. */
    recipientsSynced: `${prefix}:recipients-synced`,
    /** Rendered, signed notice for one channel of one revision (of its embargoed stage, when named). */
    notice: (channel: ChannelName, r: AdvisoryRef, stage?: NoticeStage) => `${prefix}:notice${stage ? `-${stage}` : ''}:${channel}:${ref(r)}`,
    /** Hash: recipient id -> delivery state JSON. */
    deliveries: (channel: ChannelName, r: AdvisoryRef) => `${prefix}:deliveries:${channel}:${ref(r)}`,
    /**
     * Stream: one entry per delivery state a worker or a replay writes (field `r`, the receipt
     * JSON), appended in the same script as the state. The API moves them into the receipts beside
     * the archive, deletes them and trims below what is not yet committed (see
     * delivery/receipt-collector.ts): it holds only what is on its way to disk.
     */
    receipts: `${prefix}:receipts`,
    /** Set once every channel's jobs for a revision (for its embargoed stage, when named) are queued. */
    enqueued: (r: AdvisoryRef, stage?: NoticeStage) => `${prefix}:enqueued${stage ? `-${stage}` : ''}:${ref(r)}`,
    /** The lock that keeps recovery passes and replays of every API process apart (see redis-lock.ts). */
    recoveryLock: `${prefix}:recovery-lock`,
  };
}
