import { RateLimitedError } from '../src/channels/delivery-errors';
import { CircuitOpenError } from '../src/delivery/circuit-breaker';

export interface RetryPolicy {
  /** Attempts per recipient, the first (batched) one included. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before attempt `nextAttempt` (2 = first retry): exponential from `baseMs`, capped at
 * `maxMs`, with "equal jitter" (between half and all of it) so that recipients that failed
 * together do not all come back together.
 */
export function backoffDelay(policy: RetryPolicy, nextAttempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, nextAttempt - 2));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The longest Retry-After honoured: a peer cannot park a delivery for days. */
export const RETRY_AFTER_CAP_MS = 6 * 60 * 60 * 1000;

/**
 * A peer's own word on when to come back wins over our schedule (within its own cap). A send an
 * open circuit held back waits for the circuit's next probe, then the usual backoff: the jitter
 * keeps the recipients it held back from all arriving at the probe together.
 */
export function delayAfter(policy: RetryPolicy, err: unknown, nextAttempt: number): number {
  if (err instanceof RateLimitedError) return Math.min(RETRY_AFTER_CAP_MS, Math.max(err.retryAfterMs, 1000));
  if (err instanceof CircuitOpenError) return err.untilProbeMs + backoffDelay(policy, nextAttempt);
  return backoffDelay(policy, nextAttempt);
}

/** Carries the delay the processor chose to BullMQ's backoff strategy. */
export class ScheduledRetry extends Error {
  constructor(readonly delayMs: number, options: { cause: unknown }) {
    super((options.cause as Error)?.message ?? String(options.cause), options);
    this.name = 'ScheduledRetry';
  }
}
