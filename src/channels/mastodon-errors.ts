import { MastoHttpError, MastoTimeoutError } from 'masto';
import { ForbiddenAddressError } from '../net/guarded-dispatcher';
import { DestinationUnavailableError, parseRetryAfter, PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from './delivery-errors';

/** Answers that no retry can change: a bad or revoked token, a gone account, a refused status. */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 410, 422]);

/**
 * Types a masto.js failure for the queue. Mastodon's 429 says when the window reopens in
 * X-RateLimit-Reset (an ISO 8601 time); masto keeps the fetch Response as the error's cause, which
 * is where the headers are. The access token never appears in a message: masto's errors do not
 * carry request headers, and ours name only the step and the status.
 */
export function classifyMastodonError(err: unknown, step: string): Error {
  if (err instanceof PermanentDeliveryError || err instanceof RateLimitedError || err instanceof TransientDeliveryError) return err;
  if (err instanceof MastoHttpError) {
    const what = `${step}: HTTP ${err.statusCode}${err.message ? ` ${err.message}` : ''}`;
    const failure = { kind: 'http_status', status: err.statusCode } as const;
    if (err.statusCode === 429) {
      const wait = rateLimitWait(err.cause);
      const limited = { cause: err, failure: { kind: 'rate_limited', status: 429 } } as const;
      return wait === null ? new TransientDeliveryError(what, limited) : new RateLimitedError(`${what}, retry in ${Math.ceil(wait / 1000)}s`, wait, limited);
    }
    if (PERMANENT_STATUSES.has(err.statusCode)) return new PermanentDeliveryError(what, { cause: err, failure });
    if (err.statusCode >= 500) return new DestinationUnavailableError(what, { cause: err, failure });
    return new TransientDeliveryError(what, { cause: err, failure });
  }
  if (err instanceof MastoTimeoutError) return new DestinationUnavailableError(`${step}: timed out`, { cause: err, failure: { kind: 'timed_out' } });
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ForbiddenAddressError) return new PermanentDeliveryError(`${step}: ${cause.message}`, { cause: err, failure: { kind: 'address_forbidden' } });
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new DestinationUnavailableError(`${step}: ${code ? `${code} ` : ''}${message}`, { cause: err });
}

function rateLimitWait(cause: unknown, now = Date.now()): number | null {
  if (!(cause instanceof Response)) return null;
  const retryAfter = parseRetryAfter(cause.headers.get('retry-after') ?? undefined, now);
  if (retryAfter !== null) return retryAfter;
  const reset = Date.parse(cause.headers.get('x-ratelimit-reset') ?? '');
  return Number.isNaN(reset) ? null : Math.max(0, reset - now);
}
