import { createHash } from 'node:crypto';
import { createRestAPIClient, type mastodon } from 'masto';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { createGuardedDispatcher } from '../net/guarded-dispatcher';
import { originOf } from '../net/origin';
import type { ResolveHost } from '../net/resolve-host';
import type { MastodonNoticePayload } from '../notices/mastodon-notice';
import type { RecipientOf } from '../recipients/recipient';
import { deadlineSignal } from '../util/deadline-signal';
import type { Channel, DeliveryReceipt, Notice, RetryAttempt } from './channel';
import { PermanentDeliveryError } from './delivery-errors';
import { createLookupWarner } from './lookup-warnings';
import { classifyMastodonError } from './mastodon-errors';
import { findPostedThread, type PostedThreadQuery } from './mastodon-posted-thread';
import { planThread, ThreadDoesNotFitError, type StatusLimits } from './mastodon-thread';

/** What a Mastodon send needs of a recipient: the account tocsin posts as. */
export type MastodonTarget = Pick<RecipientOf<'mastodon'>, 'id' | 'type' | 'instance_url' | 'access_token'>;

export interface MastodonChannelOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** How the instance's host is resolved at each connection (see RuntimeDeps). */
  resolveHost: ResolveHost;
  /** How long an instance's status limits are trusted before asking again. Default one hour. */
  limitsTtlMs?: number;
  visibility?: 'public' | 'unlisted';
  /**
   * How long after a notice was accepted a retry still trusts the instance to remember the
   * Idempotency-Keys of earlier attempts (Mastodon keeps them for an hour). A later retry first
   * looks for the thread among the account's own statuses. Default 50 minutes.
   */
  idempotencyTrustMs?: number;
  /** Told once per recipient and reason when that lookup failed and the retry posted anyway. Default: silent. */
  log?: Pick<Logger, 'warn'>;
}

/** Mastodon's own default, for an instance too old to say. */
const DEFAULT_LIMITS: StatusLimits = { maxCharacters: 500, charactersReservedPerUrl: 23 };

/**
 * Posts each notice as a thread from one account per recipient. Every status carries an
 * Idempotency-Key derived from the notice, the recipient, its place in the thread and its text:
 * Mastodon answers a repeated key with the status it already made (for an hour), so a retry after
 * a partial thread walks the posted part again without duplicating it and continues from there.
 * A retry later than that, when the keys may be forgotten, first looks for the thread among the
 * account's recent statuses and posts only what is missing; if the lookup fails, it posts as
 * before (a duplicate beats silence).
 */
export function createMastodonChannel(options: MastodonChannelOptions): Channel<MastodonTarget> {
  const dispatcher: Dispatcher = createGuardedDispatcher({
    allowPrivate: options.allowPrivateTargets,
    connectTimeoutMs: Math.min(options.timeoutMs, 5_000),
    resolveHost: options.resolveHost,
  });
  const limitsTtlMs = options.limitsTtlMs ?? 3_600_000;
  const knownLimits = new Map<string, { limits: StatusLimits; until: number }>();
  const idempotencyTrustMs = options.idempotencyTrustMs ?? 50 * 60_000;
  const warnLookupFailed = createLookupWarner(options.log, 'mastodon');

  function clientFor(recipient: MastodonTarget): mastodon.rest.Client {
    return createRestAPIClient({
      url: recipient.instance_url,
      accessToken: recipient.access_token,
      // No `timeout`: masto makes it an AbortSignal.timeout joined by AbortSignal.any, which a
      // garbage collection can take away on Node 20 (util/deadline-signal.ts). Each request is
      // bounded by `boundedBy` instead.
      // Node's fetch takes an undici dispatcher: the same address guard as webhooks.
      requestInit: { dispatcher } as unknown as RequestInit,
      log: 'error',
    });
  }

  /** One request to the instance, ended by the job's signal or at the timeout, whichever comes first. */
  function boundedBy(signal: AbortSignal) {
    return async <T>(request: (signal: AbortSignal) => Promise<T>): Promise<T> => {
      const deadline = deadlineSignal(options.timeoutMs, signal);
      try {
        return await request(deadline.signal);
      } finally {
        deadline.clear();
      }
    };
  }

  async function limitsOf(client: mastodon.rest.Client, instanceUrl: string, signal: AbortSignal): Promise<StatusLimits> {
    const cached = knownLimits.get(instanceUrl);
    if (cached && cached.until > Date.now()) return cached.limits;
    const instance = await boundedBy(signal)((s) => client.v2.instance.fetch(undefined, { requestInit: { signal: s } })).catch((err: unknown) => {
      throw classifyMastodonError(err, 'reading the instance limits');
    });
    // An older or non-Mastodon server may leave parts out, whatever the types say.
    const statuses = (instance as Partial<mastodon.v2.Instance>).configuration?.statuses as Partial<mastodon.v2.InstanceStatusesConfiguration> | undefined;
    const limits: StatusLimits = {
      maxCharacters: positive(statuses?.maxCharacters) ?? DEFAULT_LIMITS.maxCharacters,
      charactersReservedPerUrl: positive(statuses?.charactersReservedPerUrl) ?? DEFAULT_LIMITS.charactersReservedPerUrl,
    };
    knownLimits.set(instanceUrl, { limits, until: Date.now() + limitsTtlMs });
    return limits;
  }

  /** What an earlier attempt posted of the thread; nothing when the lookup fails, so that all is posted. */
  async function postedPart(client: mastodon.rest.Client, notice: Notice, recipient: MastodonTarget, query: PostedThreadQuery): Promise<mastodon.v1.Status[]> {
    try {
      return await findPostedThread(client, query);
    } catch (err) {
      warnLookupFailed(recipient.id, classifyMastodonError(err, "reading the account's statuses").message, notice.ref);
      return [];
    }
  }

  return {
    name: 'mastodon',
    async send(notice: Notice, recipient: MastodonTarget, signal: AbortSignal, retry?: RetryAttempt): Promise<DeliveryReceipt> {
      const payload = JSON.parse(notice.payload) as MastodonNoticePayload;
      const client = clientFor(recipient);
      const limits = await limitsOf(client, recipient.instance_url, signal);
      let posts: string[];
      try {
        posts = planThread(payload, limits);
      } catch (err) {
        if (err instanceof ThreadDoesNotFitError) {
          throw new PermanentDeliveryError(`${err.message} (limit ${limits.maxCharacters})`, { cause: err, failure: { kind: 'too_long' } });
        }
        throw err;
      }
      // Acceptance is no later than the first attempt, so this errs towards looking. A notice stored
      // before it carried its acceptance time counts as old.
      const sinceMs = Date.parse(notice.acceptedAt) || 0;
      const keysMayBeForgotten = retry !== undefined && Date.now() - sinceMs > idempotencyTrustMs;
      const bounded = boundedBy(signal);
      const posted = keysMayBeForgotten ? await postedPart(client, notice, recipient, { spoilerText: payload.spoiler_text, posts, sinceMs, bounded }) : [];
      if (posted.length === posts.length) {
        return { detail: `found ${posts.length} status${posts.length === 1 ? '' : 'es'} already posted, first ${statusLink(posted[0])}; not posted again` };
      }
      let previous: mastodon.v1.Status | undefined = posted.at(-1);
      let first: mastodon.v1.Status | undefined = posted[0];
      for (const [index, text] of posts.entries()) {
        if (index < posted.length) continue;
        const key = idempotencyKey(notice.messageId, recipient.id, index, text);
        try {
          const inReplyToId = previous?.id ?? null;
          previous = await bounded((s) =>
            client.v1.statuses.create(
              { status: text, spoilerText: payload.spoiler_text, visibility: options.visibility ?? 'public', inReplyToId, language: 'en' },
              { requestInit: { headers: { 'Idempotency-Key': key }, signal: s } },
            ),
          );
        } catch (err) {
          throw classifyMastodonError(err, `posting status ${index + 1} of ${posts.length}`);
        }
        first ??= previous;
      }
      const found = posted.length > 0 ? ` (${posted.length} found already posted)` : '';
      return { detail: `posted ${posts.length} status${posts.length === 1 ? '' : 'es'}${found}, first ${statusLink(first)}` };
    },
    destination: (recipient) => originOf(recipient.instance_url),
    async close() {
      knownLimits.clear();
      await dispatcher.close();
    },
  };
}

function statusLink(status: mastodon.v1.Status | undefined): string {
  return status?.url ?? status?.uri ?? status?.id ?? '?';
}

function positive(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The text is part of the key: should the instance's limit change between two attempts, the new
 * split gets new keys and a whole new thread, rather than Mastodon's answer to an old key stitching
 * statuses of two different splits together.
 */
export function idempotencyKey(messageId: string, recipientId: string, index: number, text: string): string {
  const digest = createHash('sha256').update(`${messageId}\n${recipientId}\n${index}\n${text}`).digest('hex').slice(0, 32);
  return `tocsin-${digest}`;
}
