import type { AdvisoryRef } from '../advisory/record';
import type { Recipient, RecipientOf } from '../recipients/recipient';
import type { ChannelName } from './channel-names';
import { PermanentDeliveryError } from './delivery-errors';

/**
 * What a channel sends: rendered and signed once per advisory revision, the same bytes for every
 * recipient of the channel.
 */
export interface Notice {
  ref: AdvisoryRef;
  /** Stable across retries and restarts; receivers de-duplicate on it. */
  messageId: string;
  /** The channel-specific rendering, already carrying tocsin's signature. */
  payload: string;
  /**
   * When tocsin accepted the revision (ISO 8601): no attempt to send the notice is older, so a
   * channel looking for an earlier post of it need not look further back.
   */
  acceptedAt: string;
}

/**
 * Given to a send when an earlier attempt of the same delivery may have reached the peer although
 * it failed (its answer lost to a timeout, a reset or a 5xx): every retry, an operator's replay,
 * and a first attempt made by a batch that runs again (after a worker died mid-batch, or Redis
 * lost it and recovery queued it anew). Absent on an ordinary first attempt, which has nothing to
 * look for.
 */
export interface RetryAttempt {
  /** The attempt this send makes: 2 for the first retry; 1 for a batch that runs again. A replay counts again from 1. */
  attempt: number;
}

/** What a successful send reports, for the delivery record. */
export interface DeliveryReceipt {
  /** e.g. the HTTP status a webhook answered. */
  detail: string;
}

/**
 * One channel behind one small contract. `send` makes exactly one attempt and throws an error from
 * `delivery-errors.ts` on failure: retries belong to the queue.
 */
export interface Channel<R> {
  readonly name: ChannelName;
  /**
   * A channel whose peer cannot de-duplicate on `notice.messageId` by itself may, given `retry`,
   * look for its own earlier post first and report it rather than post again.
   */
  send(notice: Notice, recipient: R, signal: AbortSignal, retry?: RetryAttempt): Promise<DeliveryReceipt>;
  /**
   * The host a send to this recipient talks to, as a URL origin (`https://host:port`): the unit a
   * circuit breaker tracks, so that one dead host costs a few probes rather than a timeout per
   * recipient. Null for a channel that routes by itself (email picks among its relays).
   */
  destination(recipient: R): string | null;
  close(): Promise<void>;
}

/**
 * Lets a channel be written against its own recipient type, while the worker, which reads
 * recipients of any type from Redis, holds every channel the same way.
 */
export function forAnyRecipient<N extends ChannelName>(name: N, channel: Channel<RecipientOf<N>>): Channel<Recipient> {
  return {
    name,
    async send(notice, recipient, signal, retry) {
      if (recipient.type !== name) throw new PermanentDeliveryError(`a ${recipient.type} recipient cannot receive ${name} notices`);
      return channel.send(notice, recipient as RecipientOf<N>, signal, retry);
    },
    destination: (recipient) => (recipient.type === name ? channel.destination(recipient as RecipientOf<N>) : null),
    close: () => channel.close(),
  };
}
