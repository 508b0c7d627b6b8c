import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type FetchFunction,
  type Logger,
} from '@slack/web-api';
import type { Logger as PinoLogger } from 'pino';
import { fetch as undiciFetch, type Dispatcher, type RequestInit as UndiciRequestInit } from 'undici';
import { networkFailure } from '../delivery/public-delivery-view';
import { createGuardedDispatcher, ForbiddenAddressError } from '../net/guarded-dispatcher';
import { originOf } from '../net/origin';
import type { ResolveHost } from '../net/resolve-host';
import type { SlackNoticeBlock, SlackNoticePayload } from '../notices/slack-notice';
import type { RecipientOf } from '../recipients/recipient';
import type { Channel, DeliveryReceipt, Notice, RetryAttempt } from './channel';
import { DestinationUnavailableError, PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from './delivery-errors';
import { createLookupWarner } from './lookup-warnings';
import { findPostedNotice, HistoryLookupError } from './slack-history';

/** What a Slack send needs of a recipient. */
export type SlackTarget = Pick<RecipientOf<'slack'>, 'id' | 'type' | 'channel_id' | 'token' | 'api_url'>;

export interface SlackChannelOptions {
  /** Bound on one Web API call (chat.postMessage, or a page of conversations.history), connect to answer. */
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** How the API host is resolved at each connection (see RuntimeDeps). */
  resolveHost: ResolveHost;
  /** Told once per recipient and reason when a retry could not read the history and posted anyway. Default: silent. */
  log?: Pick<PinoLogger, 'warn'>;
  /** Each recipient's acknowledgement link for a drill notice. Absent: drills go without one. */
  drillAckLink?: (drillId: string, recipientId: string) => Promise<string>;
}

/** The block after a drill's signed text: tocsin's own words and link, so mrkdwn is safe here. */
type AckBlock = { type: 'section'; text: { type: 'mrkdwn'; text: string } };

/**
 * A drill's acknowledgement link, after the signed notice and apart from it: the signed text is the
 * same for every workspace, the link is this recipient's own.
 */
export function ackBlock(url: string): AckBlock {
  if (/[<>|\s]/.test(url)) throw new Error('the acknowledgement link holds characters a Slack link cannot carry');
  return { type: 'section', text: { type: 'mrkdwn', text: `DRILL, not signed: <${url}|Acknowledge this drill> to confirm it reached this channel.` } };
}

/**
 * Platform errors that no retry can fix: the token or the channel is wrong, gone or locked, or
 * the message itself is refused (the same bytes would be refused again).
 */
const PERMANENT_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_arguments',
]);

/**
 * Slack over the Web API, with one WebClient per workspace token and API base (slack.com,
 * GovSlack, or a test server). The client never retries nor waits out a rate limit itself:
 * retries and their schedule belong to the queue.
 *
 * chat.postMessage takes no idempotency key, so a retry first reads the channel's history since
 * the notice was accepted for a message carrying the notice's id in its metadata, and reports
 * that one rather than post again. A lookup that fails for any reason (a token without
 * `channels:history`, say) posts anyway: a duplicate beats silence.
 */
export function createSlackChannel(options: SlackChannelOptions): Channel<SlackTarget> {
  const dispatcher: Dispatcher = createGuardedDispatcher({
    allowPrivate: options.allowPrivateTargets,
    connectTimeoutMs: Math.min(options.timeoutMs, 5_000),
    resolveHost: options.resolveHost,
  });
  // Slack's client takes any WHATWG fetch; this one connects only where the address guard allows.
  const guardedFetch = ((url, init) => undiciFetch(url, { ...(init as UndiciRequestInit), dispatcher })) as FetchFunction;
  const clients = new Map<string, WebClient>();
  const warnLookupFailed = createLookupWarner(options.log, 'slack');

  function clientFor(recipient: SlackTarget): WebClient {
    const key = `${recipient.api_url}\n${recipient.token}`;
    let client = clients.get(key);
    if (!client) {
      client = new WebClient(recipient.token, {
        slackApiUrl: recipient.api_url,
        fetch: guardedFetch,
        timeout: options.timeoutMs,
        rejectRateLimitedCalls: true,
        retryConfig: { retries: 0 },
        logger: silentLogger,
        // A method name is never a URL here, but a client pinned to its base cannot be pointed elsewhere.
        allowAbsoluteUrls: false,
      });
      clients.set(key, client);
    }
    return client;
  }

  return {
    name: 'slack',
    async send(notice: Notice, recipient: SlackTarget, signal: AbortSignal, retry?: RetryAttempt): Promise<DeliveryReceipt> {
      // The Web API client takes no per-call signal; its timeout bounds the call instead. Waiting
      // for the real answer beats abandoning it: a message Slack accepted must not be re-sent.
      if (signal.aborted) throw new TransientDeliveryError('delivery was cancelled before it started', { cause: signal.reason, failure: { kind: 'cancelled' } });
      const payload = JSON.parse(notice.payload) as SlackNoticePayload;
      const client = clientFor(recipient);
      if (retry) {
        const ts = await findPostedNotice(client, {
          channelId: recipient.channel_id,
          eventType: payload.metadata.event_type,
          messageId: notice.messageId,
          // A notice stored before it carried its acceptance time: read back as far as the bounds allow.
          sinceMs: Date.parse(notice.acceptedAt) || 0,
          deadlineMs: options.timeoutMs,
        }).catch((err: unknown) => {
          warnLookupFailed(recipient.id, err instanceof HistoryLookupError ? err.reason : String(err), notice.ref);
          return null;
        });
        if (ts !== null) return { detail: `found already posted to ${recipient.channel_id} at ts ${ts}; not posted again` };
        if (signal.aborted) throw new TransientDeliveryError('delivery was cancelled before it posted', { cause: signal.reason });
      }
      const blocks: (SlackNoticeBlock | AckBlock)[] =
        payload.drill && options.drillAckLink ? [...payload.blocks, ackBlock(await options.drillAckLink(notice.ref.id, recipient.id))] : payload.blocks;
      try {
        const answer = await client.chat.postMessage({
          channel: recipient.channel_id,
          text: payload.text,
          blocks,
          metadata: payload.metadata,
          // Nothing in a notice may mention anyone, expand a link preview, or be read as markup.
          link_names: false,
          parse: 'none',
          mrkdwn: false,
          unfurl_links: false,
          unfurl_media: false,
        });
        return { detail: `posted to ${answer.channel ?? recipient.channel_id} at ts ${answer.ts ?? '?'}` };
      } catch (err) {
        throw classifySlackError(err);
      }
    },
    // Every workspace on one API base shares its fate: slack.com down is down for all of them.
    destination: (recipient) => originOf(recipient.api_url),
    async close() {
      clients.clear();
      await dispatcher.close();
    },
  };
}

/** Types a Web API failure by what the queue should do next; the original stays as `cause`. */
export function classifySlackError(err: unknown): Error {
  if (err instanceof WebAPIRateLimitedError) {
    return new RateLimitedError(`Slack rate limit, Retry-After ${err.retryAfter}s`, err.retryAfter * 1000, { cause: err, failure: { kind: 'rate_limited', status: 429 } });
  }
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    const failure = { kind: 'platform_error', code } as const;
    if (PERMANENT_ERRORS.has(code)) return new PermanentDeliveryError(`Slack refused the message: ${code}`, { cause: err, failure });
    return new TransientDeliveryError(`Slack error: ${code}`, { cause: err, failure });
  }
  if (err instanceof WebAPIHTTPError) {
    const Failure = err.statusCode >= 500 ? DestinationUnavailableError : TransientDeliveryError;
    return new Failure(`Slack answered HTTP ${err.statusCode}`, { cause: err, failure: { kind: 'http_status', status: err.statusCode } });
  }
  if (err instanceof WebAPIRequestError) {
    const chain = causeChain(err.original);
    const forbidden = chain.find((e): e is ForbiddenAddressError => e instanceof ForbiddenAddressError);
    if (forbidden) return new PermanentDeliveryError(forbidden.message, { cause: err, failure: { kind: 'address_forbidden' } });
    if (timedOut(chain)) return slackTimedOut(err);
    const code = chain.map((e) => e.code).filter((c): c is string => typeof c === 'string').pop();
    return new DestinationUnavailableError(`cannot reach Slack: ${code ?? err.original.message}`, { cause: err, failure: networkFailure(code) ?? { kind: 'unreachable' } });
  }
  // The client's deadline still runs while it reads the answer's body, outside its own error
  // wrapping: a Slack that answers 200 and then trickles the body fails here, bare.
  if (timedOut(causeChain(err))) return slackTimedOut(err);
  return new TransientDeliveryError(`Slack call failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The SDK re-wraps errors from another realm as `new Error(String(error))`, keeping only the text. */
function timedOut(chain: ReturnType<typeof causeChain>): boolean {
  return chain.some((e) => e.name === 'TimeoutError' || /^TimeoutError\b/.test(String(e.message)));
}

function slackTimedOut(err: unknown): DestinationUnavailableError {
  return new DestinationUnavailableError('Slack did not answer in time', { cause: err, failure: { kind: 'timed_out' } });
}

/**
 * An error and its causes, outermost first (fetch wraps the socket's error in "fetch failed").
 * Walked by shape, not `instanceof Error`: Node's own errors may come from another realm.
 */
function causeChain(err: unknown): { name?: unknown; message?: unknown; code?: unknown; cause?: unknown }[] {
  const chain: { name?: unknown; message?: unknown; code?: unknown; cause?: unknown }[] = [];
  for (let e: unknown = err; typeof e === 'object' && e !== null && chain.length < 8; e = (e as { cause?: unknown }).cause) {
    chain.push(e as { cause?: unknown });
  }
  return chain;
}

// Slack's client logs request failures to the console; tocsin records them in delivery states.
const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};
