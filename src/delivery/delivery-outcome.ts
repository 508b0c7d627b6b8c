import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';

/** Why a delivery was given up: a permanent answer, no attempts left, or no recipient any more. */
export type FailureReason = 'permanent' | 'attempts_exhausted' | 'recipient_removed';

/**
 * What one attempt for one recipient came to, as the worker records it. Workers report every
 * outcome through one hook, which logs it and counts it for /metrics.
 */
export type DeliveryOutcome = {
  channel: ChannelName;
  ref: AdvisoryRef;
  recipient: string;
  /** 1 for the first attempt; 0 when the recipient was gone before any attempt. */
  attempt: number;
  /** Epoch ms when the attempt ended. */
  at: number;
} & (
  | { outcome: 'delivered'; detail: string }
  | { outcome: 'retry_scheduled'; error: string; retryInMs: number }
  | { outcome: 'failed'; error: string; reason: FailureReason }
);

/** Receives every delivery outcome; must not throw nor wait (it runs on the delivery path). */
export type DeliveryObserver = (outcome: DeliveryOutcome) => void;
