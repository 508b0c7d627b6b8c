/**
 * Errors a channel throws, typed by what the queue should do next. Anything else thrown by a
 * channel is treated as transient and retried on the backoff schedule.
 */
import type { DeliveryFailure } from './delivery-failure';

export interface DeliveryErrorOptions {
  cause?: unknown;
  /**
   * What went wrong, in the closed terms the public delivery read may show. Give it wherever the
   * channel knows (a status, a platform code); without it the kind is read off the error's causes.
   */
  failure?: DeliveryFailure;
}

/** What every delivery error shares: the message for operators, and the failure for the public. */
abstract class DeliveryError extends Error {
  readonly failure?: DeliveryFailure;
  constructor(message: string, options?: DeliveryErrorOptions) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    if (options?.failure) this.failure = options.failure;
  }
}

/** Retrying cannot help (410 Gone, invalid address, revoked token): stop for this recipient. */
export class PermanentDeliveryError extends DeliveryError {
  constructor(message: string, options?: DeliveryErrorOptions) {
    super(message, options);
    this.name = 'PermanentDeliveryError';
  }
}

/** The peer asked us to wait: retry no sooner than `retryAfterMs` from now. */
export class RateLimitedError extends DeliveryError {
  constructor(message: string, readonly retryAfterMs: number, options?: DeliveryErrorOptions) {
    super(message, options);
    this.name = 'RateLimitedError';
  }
}

/** A failure worth retrying on the normal schedule (5xx, timeout, connection refused). */
export class TransientDeliveryError extends DeliveryError {
  constructor(message: string, options?: DeliveryErrorOptions) {
    super(message, options);
    this.name = 'TransientDeliveryError';
  }
}

/**
 * The destination itself failed us: it could not be reached, did not answer in time, or answered
 * with a server error (5xx). Retried like any transient failure, and it also counts toward that
 * destination's circuit breaker. An answer that proves the host alive (a 4xx, a refusal, a rate
 * limit) is never this error.
 */
export class DestinationUnavailableError extends TransientDeliveryError {
  constructor(message: string, options?: DeliveryErrorOptions) {
    super(message, options);
    this.name = 'DestinationUnavailableError';
  }
}

/**
 * Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from `now`; null when absent
 * or unparseable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return null;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
