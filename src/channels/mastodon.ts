import { createHash } from 'node:crypto';
import { createRestAPIClient, type mastodon } from 'masto';
import type { Dispatcher } from 'undici';
import { createGuardedDispatcher } from '../net/guarded-dispatcher';
import { originOf } from '../net/origin';
import type { ResolveHost } from '../net/resolve-host';
import type { MastodonNoticePayload } from '../notices/mastodon-notice';
import type { RecipientOf } from '../recipients/recipient';
import type { Channel, DeliveryReceipt, Notice } from './channel';
import { PermanentDeliveryError } from './delivery-errors';
import { classifyMastodonError } from './mastodon-errors';
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
}

/** Mastodon's own default, for an instance too old to say. */
const DEFAULT_LIMITS: StatusLimits = { maxCharacters: 500, charactersReservedPerUrl: 23 };

/**
 * Posts each notice as a thread from one account per recipient. Every status carries an
 * Idempotency-Key derived from the notice, the recipient, its place in the thread and its text:
 * Mastodon answers a repeated key with the status it already made (for an hour), so a retry after
 * a partial thread walks the posted part again without duplicating it and continues from there.
 */
export function createMastodonChannel(options: MastodonChannelOptions): Channel<MastodonTarget> {
  const dispatcher: Dispatcher = createGuardedDispatcher({
    allowPrivate: options.allowPrivateTargets,
    connectTimeoutMs: Math.min(options.timeoutMs, 5_000),
    resolveHost: options.resolveHost,
  });
  const limitsTtlMs = options.limitsTtlMs ?? 3_600_000;
  const knownLimits = new Map<string, { limits: StatusLimits; until: number }>();

  function clientFor(recipient: MastodonTarget): mastodon.rest.Client {
    return createRestAPIClient({
      url: recipient.instance_url,
      accessToken: recipient.access_token,
      timeout: options.timeoutMs,
      // Node's fetch takes an undici dispatcher: the same address guard as webhooks.
      requestInit: { dispatcher } as unknown as RequestInit,
      log: 'error',
    });
  }

  async function limitsOf(client: mastodon.rest.Client, instanceUrl: string, signal: AbortSignal): Promise<StatusLimits> {
    const cached = knownLimits.get(instanceUrl);
    if (cached && cached.until > Date.now()) return cached.limits;
    const instance = await client.v2.instance.fetch(undefined, { requestInit: { signal } }).catch((err: unknown) => {
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

  return {
    name: 'mastodon',
    async send(notice: Notice, recipient: MastodonTarget, signal: AbortSignal): Promise<DeliveryReceipt> {
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
      let previous: mastodon.v1.Status | undefined;
      let first: mastodon.v1.Status | undefined;
      for (const [index, text] of posts.entries()) {
        const key = idempotencyKey(notice.messageId, recipient.id, index, text);
        try {
          previous = await client.v1.statuses.create(
            {
              status: text,
              spoilerText: payload.spoiler_text,
              visibility: options.visibility ?? 'public',
              inReplyToId: previous?.id ?? null,
              language: 'en',
            },
            { requestInit: { headers: { 'Idempotency-Key': key }, signal } },
          );
        } catch (err) {
          throw classifyMastodonError(err, `posting status ${index + 1} of ${posts.length}`);
        }
        first ??= previous;
      }
      return { detail: `posted ${posts.length} status${posts.length === 1 ? '' : 'es'}, first ${first?.url ?? first?.uri ?? first?.id ?? '?'}` };
    },
    destination: (recipient) => originOf(recipient.instance_url),
    async close() {
      knownLimits.clear();
      await dispatcher.close();
    },
  };
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
