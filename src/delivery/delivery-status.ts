import type { DeliveryFailure } from '../channels/delivery-failure';
import type { FailureReason } from './delivery-outcome';

/**
 * Where one delivery stands. These words, and {@link DeliveryState}, are spoken by both the Redis
 * store (delivery-state.ts) and the durable receipts (receipts.ts): they live below both, so that
 * neither imports the other for them.
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed';

/** One recipient's delivery of one advisory revision over one channel. */
export interface DeliveryState {
  state: DeliveryStatus;
  attempts: number;
  updated_at: string;
  /** What the peer answered on success, e.g. "HTTP 200". */
  detail?: string;
  /** The latest failure as free text: may name the partner's host, address or relay (admin only). */
  last_error?: string;
  /** The latest failure as the public read shows it (see public-delivery-view.ts). */
  failure?: DeliveryFailure;
  next_attempt_at?: string;
  /** Why a `failed` delivery was given up (what /metrics counts it under); absent in receipts written before it was recorded. */
  reason?: FailureReason;
  /** How many times an operator replayed this delivery after it failed; absent when never. */
  replays?: number;
  /** When the latest replay was asked for. */
  replayed_at?: string;
}

/** One channel's states of a revision, by recipient id: a recipient with none is pending. */
export interface RecipientStates {
  get(id: string): DeliveryState | undefined;
}
