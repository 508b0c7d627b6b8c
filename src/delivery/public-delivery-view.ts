import { RateLimitedError } from '../channels/delivery-errors';
import type { DeliveryFailure } from '../channels/delivery-failure';
import { ForbiddenAddressError } from '../net/guarded-dispatcher';
import type { DeliveryState } from './delivery-status';

/** A delivery state as anyone may read it: no `detail`, and `last_error` rebuilt from `failure`. */
export type PublicDeliveryState = Omit<DeliveryState, 'detail' | 'last_error' | 'failure'> & { last_error?: string };

/** Socket and TLS error codes (Node, undici, nodemailer), by what they say about the peer. */
const NETWORK_CODES: Record<string, DeliveryFailure['kind']> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  ENOTFOUND: 'dns_failed',
  EAI_AGAIN: 'dns_failed',
  EAI_NONAME: 'dns_failed',
  EAI_FAIL: 'dns_failed',
  EDNS: 'dns_failed',
  ETIMEDOUT: 'timed_out',
  ETIMEOUT: 'timed_out',
  ESOCKETTIMEDOUT: 'timed_out',
  UND_ERR_CONNECT_TIMEOUT: 'timed_out',
  UND_ERR_HEADERS_TIMEOUT: 'timed_out',
  UND_ERR_BODY_TIMEOUT: 'timed_out',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ETLS: 'tls_failed',
  CERT_HAS_EXPIRED: 'tls_failed',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls_failed',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls_failed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls_failed',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls_failed',
};

/** The failure a socket or TLS error code stands for; null for a code that says nothing we know. */
export function networkFailure(code: unknown): DeliveryFailure | null {
  if (typeof code !== 'string') return null;
  const kind = NETWORK_CODES[code] ?? (/^ERR_(TLS|SSL)_/.test(code) ? 'tls_failed' : undefined);
  return kind ? ({ kind } as DeliveryFailure) : null;
}

/**
 * What a send's error says publicly: the `failure` a channel attached to its typed error, else
 * what the error's class and its causes' socket codes show. Never reads a message.
 */
export function failureOf(err: unknown): DeliveryFailure {
  const chain = causeChain(err);
  for (const e of chain) {
    const attached = (e as { failure?: unknown }).failure;
    if (isFailure(attached)) return attached;
    if (e instanceof RateLimitedError) return { kind: 'rate_limited' };
    if (e instanceof ForbiddenAddressError) return { kind: 'address_forbidden' };
    const fromCode = networkFailure(e.code);
    if (fromCode) return fromCode;
    if (e.name === 'TimeoutError') return { kind: 'timed_out' };
  }
  return { kind: 'unclassified' };
}

/**
 * The one sentence the public read shows for a failure. Built from the kind and numbers only,
 * each checked here again: a state read back from Redis or an old archive is data, not a promise.
 */
export function describeFailure(failure: unknown): string {
  if (!isFailure(failure)) return 'failed (the reason is not public)';
  switch (failure.kind) {
    case 'http_status':
      return validStatus(failure.status) ? `HTTP ${failure.status}` : 'HTTP error';
    case 'redirect':
      return `${validStatus(failure.status) ? `HTTP ${failure.status}` : 'HTTP redirect'}: redirects are not followed`;
    case 'rate_limited':
      return validStatus(failure.status) ? `rate limited (HTTP ${failure.status})` : 'rate limited';
    case 'timed_out':
      return 'timed out';
    case 'connection_refused':
      return 'connection refused';
    case 'connection_reset':
      return 'connection closed by the peer';
    case 'dns_failed':
      return 'host name did not resolve';
    case 'tls_failed':
      return 'TLS handshake failed';
    case 'unreachable':
      return 'destination unreachable';
    case 'address_forbidden':
      return 'destination address not allowed';
    case 'circuit_open':
      return 'not attempted: circuit open for this destination host';
    case 'mail_rejected':
      return validStatus(failure.code) ? `rejected by the mail server (${failure.code})` : 'rejected by the mail server';
    case 'no_mail_relay':
      return 'no mail relay took the message';
    case 'platform_error':
      return PLATFORM_CODE.test(failure.code) ? `platform error: ${failure.code}` : 'platform error';
    case 'too_long':
      return "the notice does not fit the instance's status limit";
    case 'recipient_removed':
      return 'recipient was removed';
    case 'cancelled':
      return 'cancelled';
    case 'unclassified':
      return 'failed (the reason is not public)';
  }
}

/**
 * A delivery state for an unauthenticated reader. Only fields whose values tocsin itself chooses
 * are kept; `detail` (a relay's answer, a Slack channel, a Mastodon status URL) is dropped.
 */
export function publicDeliveryView(s: DeliveryState): PublicDeliveryState {
  return {
    state: s.state,
    attempts: s.attempts,
    updated_at: s.updated_at,
    ...(s.last_error !== undefined || s.failure !== undefined ? { last_error: describeFailure(s.failure) } : {}),
    ...(s.next_attempt_at !== undefined ? { next_attempt_at: s.next_attempt_at } : {}),
    ...(s.replays !== undefined ? { replays: s.replays } : {}),
    ...(s.replayed_at !== undefined ? { replayed_at: s.replayed_at } : {}),
  };
}

/** Slack's error codes are lowercase words (`channel_not_found`); anything else is not shown. */
const PLATFORM_CODE = /^[a-z][a-z0-9_]{0,63}$/;

const KINDS = new Set<string>([
  'http_status', 'redirect', 'rate_limited', 'timed_out', 'connection_refused', 'connection_reset', 'dns_failed', 'tls_failed', 'unreachable',
  'address_forbidden', 'circuit_open', 'mail_rejected', 'no_mail_relay', 'platform_error', 'too_long', 'recipient_removed', 'cancelled', 'unclassified',
]);

function isFailure(v: unknown): v is DeliveryFailure {
  return typeof v === 'object' && v !== null && KINDS.has((v as { kind?: unknown }).kind as string);
}

function validStatus(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599;
}

/**
 * An error and its causes, outermost first, following `cause` and the Slack client's `original`.
 * Walked by shape, not `instanceof Error`: Node's own errors may come from another realm.
 */
function causeChain(err: unknown): { name?: unknown; code?: unknown }[] {
  const chain: { name?: unknown; code?: unknown }[] = [];
  for (let e: unknown = err; typeof e === 'object' && e !== null && chain.length < 8; ) {
    chain.push(e as { name?: unknown });
    const next = e as { cause?: unknown; original?: unknown };
    e = next.cause ?? next.original;
  }
  return chain;
}
