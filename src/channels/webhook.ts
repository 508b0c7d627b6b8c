import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import { CONNECTIONS_PER_ORIGIN, createGuardedDispatcher, ForbiddenAddressError } from '../net/guarded-dispatcher';
import { createOriginLanes } from '../net/origin-lanes';
import { originOf } from '../net/origin';
import { createRequestDeadlines, DeadlineExceededError } from '../net/request-deadlines';
import type { ResolveHost } from '../net/resolve-host';
import type { RecipientOf } from '../recipients/recipient';
import type { Channel, DeliveryReceipt, Notice } from './channel';
import { DestinationUnavailableError, parseRetryAfter, PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from './delivery-errors';
import { signStandardWebhook } from './standard-webhooks';

/** Answers that speak for the whole host (its gateway cannot reach the application), counted by its circuit breaker. */
const HOST_FAILURE_STATUSES = new Set([502, 503, 504]);

/** What a webhook send needs of a recipient. */
export type WebhookTarget = Pick<RecipientOf<'webhook'>, 'id' | 'type' | 'url' | 'secret'>;

export interface WebhookChannelOptions {
  /**
   * Timeout of each phase of one request (connecting, at most 5 s; the answer's headers; each
   * silence in its body). The whole request, its body included, ends at twice this at the latest,
   * so a partner that trickles its answer is cut off too.
   */
  timeoutMs: number;
  allowPrivateTargets: boolean;
  userAgent: string;
  /** How host names are resolved at each connection (see RuntimeDeps). */
  resolveHost: ResolveHost;
}

/**
 * Webhooks with Standard Webhooks headers. The body is the same bytes for every recipient; only
 * the HMAC differs. Redirects are not followed: a partner's endpoint is the URL it enrolled.
 */
export function createWebhookChannel(options: WebhookChannelOptions): Channel<WebhookTarget> {
  // Every partner is an origin of its own: single-connection lanes, not a pool per origin (see origin-lanes.ts).
  const lanes = createOriginLanes(CONNECTIONS_PER_ORIGIN, () =>
    createGuardedDispatcher({
      allowPrivate: options.allowPrivateTargets,
      connectTimeoutMs: Math.min(options.timeoutMs, 5_000),
      resolveHost: options.resolveHost,
      connections: 1,
    }),
  );
  // Twice the phase timeout, so that undici's own timers still end the common cases (no answer at
  // all, a silent body), which is cheaper: a request aborted through its signal costs an extra,
  // idle connection to the host (undici reconnects for it before noticing it was aborted), and a
  // dead host would see twice the connections. The deadline is for what renews those timers.
  const deadlines = createRequestDeadlines({ deadlineMs: 2 * options.timeoutMs });

  return {
    name: 'webhook',
    async send(notice: Notice, recipient: WebhookTarget, signal: AbortSignal): Promise<DeliveryReceipt> {
      if (signal.aborted) throw new TransientDeliveryError('cancelled before sending', { cause: signal.reason, failure: { kind: 'cancelled' } });
      const url = new URL(recipient.url);
      const timestamp = Math.floor(Date.now() / 1000);
      const deadline = deadlines.start();
      let response: Dispatcher.ResponseData;
      try {
        response = await lanes.run(url.origin, async (dispatcher) => {
          const answer = await request(url, {
            method: 'POST',
            dispatcher,
            // The overall deadline (see request-deadlines.ts): undici's body timer is renewed by
            // every byte, and its headers timer by every 1xx answer, so they alone bound nothing
            // against a partner that trickles.
            signal: deadline,
            headersTimeout: options.timeoutMs,
            bodyTimeout: options.timeoutMs,
            headers: {
              'content-type': 'application/json',
              'user-agent': options.userAgent,
              'webhook-id': notice.messageId,
              'webhook-timestamp': String(timestamp),
              'webhook-signature': signStandardWebhook(recipient.secret, notice.messageId, timestamp, notice.payload),
            },
            body: notice.payload,
          });
          // The answer's body is of no use to us; read at most a little of it so the socket can be
          // reused. Should the deadline pass meanwhile, the socket is dropped, but the status stands.
          await answer.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
          return answer;
        });
      } catch (err) {
        throw classifyNetworkError(err);
      } finally {
        deadline.settle();
      }
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { detail: `HTTP ${status}` };
      if (status === 410) throw new PermanentDeliveryError('HTTP 410 Gone: the partner retired this endpoint', { failure: { kind: 'http_status', status } });
      if (status === 429 || status === 503) {
        const wait = parseRetryAfter(response.headers['retry-after']);
        if (wait !== null) throw new RateLimitedError(`HTTP ${status}, Retry-After ${Math.ceil(wait / 1000)}s`, wait, { failure: { kind: 'rate_limited', status } });
      }
      if (status >= 300 && status < 400) {
        throw new TransientDeliveryError(`HTTP ${status}: redirects are not followed (location: ${String(response.headers.location ?? 'none')})`, {
          failure: { kind: 'redirect', status },
        });
      }
      // Many partners can share one host, each on its own path: a 500 is this endpoint's own
      // failure, while a gateway saying it cannot reach the application is the host's.
      const failure = { kind: 'http_status', status } as const;
      if (HOST_FAILURE_STATUSES.has(status)) throw new DestinationUnavailableError(`HTTP ${status}`, { failure });
      throw new TransientDeliveryError(`HTTP ${status}`, { failure });
    },
    destination: (recipient) => originOf(recipient.url),
    async close() {
      // Requests still out finish first, each by its deadline at the latest.
      await lanes.close();
      deadlines.close();
    },
  };
}

function classifyNetworkError(err: unknown): Error {
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof ForbiddenAddressError || err instanceof ForbiddenAddressError) {
    return new PermanentDeliveryError((cause as Error).message, { cause: err, failure: { kind: 'address_forbidden' } });
  }
  if (err instanceof DeadlineExceededError || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new DestinationUnavailableError('timed out waiting for the partner to answer', { cause: err, failure: { kind: 'timed_out' } });
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new DestinationUnavailableError('timed out connecting to the partner', { cause: err, failure: { kind: 'timed_out' } });
  }
  const code = (cause as NodeJS.ErrnoException).code;
  return new DestinationUnavailableError(`${code ?? (err as Error).name}: ${(cause as Error).message}`, { cause: err });
}
