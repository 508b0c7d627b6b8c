import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Sender } from '../channels/email-message';
import type { BroadcasterSigner } from '../pgp/broadcaster-keys';
import { newRecipientId, newUnsubscribeToken, type RecipientFilter, type RecipientOf } from '../recipients/recipient';
import type { RecipientStore } from '../recipients/recipient-store';
import { isActive } from '../recipients/recipient-status';
import { createKeyedSemaphore } from '../util/keyed-semaphore';
import { MailRefusedError, type MailRelays } from './mail-relays';
import type { PendingSubscriptions } from './pending-subscriptions';
import { confirmPath, managePath } from './subscription-paths';
import type { SubscriptionLimits } from './subscription-limits';
import { alreadySubscribedMail, buildSubscriptionMail, confirmationMail, type SubscriptionMail } from './subscription-mail';

/** How a subscription mail that no relay took is sent again. */
export interface MailRetry {
  /** Attempts in all, the first included. Default 5. */
  attempts: number;
  /** The wait before the second attempt; each next wait doubles. Default 30 s: 30 + 60 + 120 + 240 s, 7.5 minutes in all. */
  baseDelayMs: number;
}

export const DEFAULT_MAIL_RETRY: MailRetry = { attempts: 5, baseDelayMs: 30_000 };

export interface SubscriptionDeps {
  pending: PendingSubscriptions;
  recipients: RecipientStore;
  relays: MailRelays;
  limits: SubscriptionLimits;
  signer: () => Promise<BroadcasterSigner>;
  sender: Sender;
  /** Base of the links in the mails (TOCSIN_PUBLIC_URL). */
  publicUrl: string;
  /** TOCSIN_SUBSCRIBE_PENDING_MAX. */
  pendingMax: number;
  now: () => number;
  log: Logger;
  /** Default {@link DEFAULT_MAIL_RETRY}; a test shortens the waits. */
  retry?: MailRetry;
}

/** What pressing the confirmation button did. */
export type ConfirmOutcome =
  | { outcome: 'subscribed'; recipient: RecipientOf<'email'> }
  | { outcome: 'used' }
  | { outcome: 'expired' }
  | { outcome: 'unknown' };

/**
 * Double opt-in: a request only ever sends a mail, and only the link in that mail makes the
 * address a recipient. The answer to a request never depends on the address (see
 * {@link Subscriptions.request}), so nobody learns who is subscribed.
 */
export interface Subscriptions {
  /**
   * Does what a request for `address` calls for, after its answer is sent: a confirmation mail,
   * or, to an address already subscribed, a mail with its manage link; nothing when the
   * address's own limit is spent or too many requests wait. Never rejects: problems are logged.
   */
  request(address: string, filter: RecipientFilter | undefined): Promise<void>;
  /** What the confirmation link with this token is worth now, without using it. */
  linkState(token: string): 'valid' | 'used' | 'expired' | 'unknown';
  /** Uses the link: the address becomes a recipient (or, already one, takes the new filter). */
  confirm(token: string): Promise<ConfirmOutcome>;
  /** The subscriber whose mails carry this manage (= unsubscribe) token. */
  subscriber(token: string): Promise<RecipientOf<'email'> | undefined>;
  /** Replaces the subscriber's filter (null: everything); undefined when the token is unknown. */
  changeFilter(token: string, filter: RecipientFilter | null): Promise<RecipientOf<'email'> | undefined>;
  /** Resolves once every request under way has sent its mail (or failed to, its retries spent). */
  idle(): Promise<void>;
  /** Gives up the mails waiting for their next attempt (logged), then resolves once every request has ended. */
  close(): Promise<void>;
}

export function createSubscriptions(deps: SubscriptionDeps): Subscriptions {
  // One address at a time: two links for one address confirmed together must not make two recipients.
  const perAddress = createKeyedSemaphore(1);
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  const retry = deps.retry ?? DEFAULT_MAIL_RETRY;

  /**
   * Sends the mail, again after a wait when no relay took it (down, or "try later"), so that a
   * relay down for a few minutes does not lose a confirmation its owner waits for. The API sends
   * these itself, not through the delivery queue: one is wanted within minutes or not at all, and
   * a wait holds only a timer. A relay that refuses the address for good is not asked again.
   */
  async function send(mail: SubscriptionMail): Promise<void> {
    const signer = await deps.signer();
    const raw = await buildSubscriptionMail(mail, { signingKeys: signer.signingKeys, fingerprint: signer.fingerprint, sender: deps.sender, date: new Date(deps.now()) });
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.relays.send(deps.sender.address, mail.to, raw);
        if (attempt > 1) deps.log.info({ attempt }, 'subscription mail sent after a retry');
        return;
      } catch (err) {
        const problem = withoutAddress(err, mail.to);
        if (err instanceof MailRefusedError || attempt >= retry.attempts) throw problem;
        const waitMs = retry.baseDelayMs * 2 ** (attempt - 1);
        deps.log.warn({ err: problem.message, attempt, attempts: retry.attempts, retryInMs: waitMs }, 'no relay took a subscription mail; it is sent again later');
        try {
          await sleep(waitMs, undefined, { signal: stopping.signal });
        } catch {
          throw new Error(`stopping before attempt ${attempt + 1} of ${retry.attempts}: ${problem.message}`);
        }
      }
    }
  }

  async function handleRequest(address: string, filter: RecipientFilter | undefined): Promise<void> {
    const limit = await deps.limits.toAddress(address);
    if (!limit.allowed) {
      deps.log.info('subscription request dropped: this address was sent enough mail today');
      return;
    }
    const existing = (await deps.recipients.findByAddress(address)).find(isActive);
    if (existing) {
      await send(alreadySubscribedMail(existing.address, `${deps.publicUrl}${managePath(existing.unsubscribe_token)}`));
      return;
    }
    if (deps.pending.size() >= deps.pendingMax) {
      deps.log.warn({ pendingMax: deps.pendingMax }, 'subscription request dropped: too many unconfirmed subscriptions wait (TOCSIN_SUBSCRIBE_PENDING_MAX)');
      return;
    }
    const token = await deps.pending.add(address, filter);
    const expiresAt = deps.pending.check(token);
    const until = expiresAt.state === 'valid' ? expiresAt.pending.expiresAt : deps.now();
    await send(confirmationMail(address, `${deps.publicUrl}${confirmPath(token)}`, new Date(until)));
  }

  return {
    request(address, filter) {
      const work = handleRequest(address, filter).catch((err: unknown) => {
        // The address stays out of the log: the log is not a list of who tried to subscribe.
        deps.log.warn({ err: (err as Error).message }, 'could not send a subscription mail');
      });
      inFlight.add(work);
      return work.finally(() => inFlight.delete(work));
    },
    linkState: (token) => deps.pending.check(token).state,
    async confirm(token) {
      const first = deps.pending.check(token);
      if (first.state !== 'valid') return { outcome: first.state };
      return perAddress.run(first.pending.address.toLowerCase(), async () => {
        const link = deps.pending.check(token);
        if (link.state !== 'valid') return { outcome: link.state };
        const { address, filter } = link.pending;
        const existing = await deps.recipients.findByAddress(address);
        const active = existing.find(isActive);
        let recipient: RecipientOf<'email'> | undefined;
        if (active) {
          // Confirmed again (a second link): the latest choice of filter wins, nothing is doubled.
          const updated = await deps.recipients.update(active.id, { filter: filter ?? null });
          recipient = updated?.type === 'email' ? updated : active;
        } else {
          // An address that bounced itself inactive starts afresh: confirming proves the mailbox works again.
          for (const dead of existing) await deps.recipients.remove(dead.id);
          recipient = {
            id: newRecipientId(),
            created_at: new Date(deps.now()).toISOString(),
            type: 'email',
            address,
            unsubscribe_token: newUnsubscribeToken(),
            groups: [],
            tlp: 'CLEAR',
            ...(filter ? { filter } : {}),
            source: 'subscription',
          };
          await deps.recipients.add(recipient);
        }
        // Used only once the recipient is durable: a crash between the two leaves a link that
        // confirms again, which finds the recipient and changes nothing.
        await deps.pending.markUsed(token);
        return { outcome: 'subscribed', recipient };
      });
    },
    subscriber: (token) => deps.recipients.findByUnsubscribeToken(token),
    async changeFilter(token, filter) {
      const recipient = await deps.recipients.findByUnsubscribeToken(token);
      if (!recipient) return undefined;
      const updated = await deps.recipients.update(recipient.id, { filter });
      return updated?.type === 'email' ? updated : undefined;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    async close() {
      stopping.abort();
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}

/**
 * The error with the address taken out of its text: a relay's answer often quotes it (`550 5.1.1
 * <a@example.org>: unknown`), and the log is not a list of who tried to subscribe.
 */
function withoutAddress(err: unknown, address: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new Error(message.replace(new RegExp(escaped, 'gi'), '<the address>'), { cause: err });
}
