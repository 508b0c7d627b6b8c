import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseSender } from '../channels/email-message';
import type { Config } from '../config';
import type { BroadcasterSigner } from '../pgp/broadcaster-keys';
import type { RecipientStore } from '../recipients/recipient-store';
import { createMailRelays } from './mail-relays';
import { openPendingSubscriptions } from './pending-subscriptions';
import { createSubscriptionLimits, type SubscriptionLimits } from './subscription-limits';
import { createSubscriptions, type MailRetry, type Subscriptions } from './subscriptions';

export interface OpenSubscriptions {
  /** Null when email is off: nothing can confirm an address. */
  subscriptions: Subscriptions | null;
  limits: SubscriptionLimits;
  close(): Promise<void>;
}

/** Self-service subscriptions as the configuration allows them: their store, limits and relays. */
export async function openSubscriptions(o: {
  config: Config;
  redis: Redis;
  recipients: RecipientStore;
  signer: () => Promise<BroadcasterSigner>;
  now: () => number;
  log: Logger;
  /** How a mail no relay took is sent again; default DEFAULT_MAIL_RETRY. */
  retry?: MailRetry;
}): Promise<OpenSubscriptions> {
  const { config } = o;
  const limits = createSubscriptionLimits(o.redis, config.prefix, config.subscriptions);
  if (config.email.smtpUrls.length === 0 || !config.email.from) return { subscriptions: null, limits, close: async () => undefined };
  const pending = await openPendingSubscriptions(config.dataDir, o.now, o.log);
  const relays = createMailRelays(config.email.smtpUrls, config.channels.timeoutMs);
  const subscriptions = createSubscriptions({
    pending,
    recipients: o.recipients,
    relays,
    limits,
    signer: o.signer,
    sender: parseSender(config.email.from),
    publicUrl: config.publicUrl,
    pendingMax: config.subscriptions.pendingMax,
    now: o.now,
    log: o.log,
    ...(o.retry ? { retry: o.retry } : {}),
  });
  return {
    subscriptions,
    limits,
    async close() {
      // A mail waiting to be sent again is given up (logged), not waited for: stopping takes seconds, not minutes.
      await subscriptions.close();
      relays.close();
      await pending.close();
    },
  };
}
