import type { Transporter } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { createCircuitBreaker, type Pass } from '../delivery/circuit-breaker';
import type { EmailPayload } from '../notices/email-notice';
import type { RecipientOf } from '../recipients/recipient';
import type { Channel, DeliveryReceipt, Notice } from './channel';
import { PermanentDeliveryError, TransientDeliveryError } from './delivery-errors';
import { buildEmailMessage, parseSender } from './email-message';
import { aboutThisMessage, createSmtpTransport, redactRelayUrl, refusesRecipient } from './smtp-transport';
import { managePath } from '../subscriptions/subscription-paths';
import { deadlineSignal } from '../util/deadline-signal';

/** What an email send needs of a recipient. */
export type EmailTarget = Pick<RecipientOf<'email'>, 'id' | 'type' | 'address' | 'unsubscribe_token'>;

export interface EmailChannelOptions {
  /** nodemailer connection URLs, in order of preference. */
  smtpUrls: readonly string[];
  /** The From header, e.g. "ACME Security <security@acme.example>". */
  from: string;
  /** Base of the one-click unsubscribe URL. */
  publicUrl: string;
  /** Messages in flight at once: each relay's pool may open this many connections. */
  concurrency: number;
  /** Bound on one message through one relay: connect, greeting and the whole exchange. */
  timeoutMs: number;
  /** How long a relay that just failed is tried last; doubles while it keeps failing. Default 30000 ms. */
  relayCooldownMs?: number;
  /** Longest such cool-down. Default 600000 ms. */
  relayMaxCooldownMs?: number;
  /** Injected in tests. Default Date.now. */
  now?: () => number;
  /** Each recipient's acknowledgement link for a drill notice. Absent: drills go without one. */
  drillAckLink?: (drillId: string, recipientId: string) => Promise<string>;
}

/**
 * PGP/MIME email over pooled SMTP. The signed body comes ready from the notice; each send adds only
 * this recipient's headers. Relays are routes, not retries: when one refuses us or cannot be
 * reached, the next carries the same message within the same attempt.
 *
 * Relays have a memory: one that just failed us (refused or dropped the connection, timed out, or
 * turned us away at the greeting or MAIL FROM) is tried last until its cool-down ends, so each
 * message does not first wait on a dead relay. Then one message at a time tries it first again.
 * This memory is per process, like the circuit breaker.
 */
export function createEmailChannel(options: EmailChannelOptions): Channel<EmailTarget> {
  if (options.smtpUrls.length === 0) throw new Error('the email channel needs at least one SMTP relay');
  const sender = parseSender(options.from);
  const relays: { label: string; transport: Transporter }[] = options.smtpUrls.map((url, i) => ({
    label: `relay ${i + 1} (${redactRelayUrl(url)})`,
    transport: createSmtpTransport(url, { concurrency: options.concurrency, timeoutMs: options.timeoutMs }),
  }));

  const health = createCircuitBreaker({
    threshold: 1,
    cooldownMs: options.relayCooldownMs ?? 30_000,
    maxCooldownMs: options.relayMaxCooldownMs ?? 600_000,
    ...(options.now ? { now: options.now } : {}),
  });

  /** Relays in order of preference, those resting after a failure moved to the end. */
  function route(): { relay: (typeof relays)[number]; pass: Pass }[] {
    const ready: { relay: (typeof relays)[number]; pass: Pass }[] = [];
    const resting: { relay: (typeof relays)[number]; pass: Pass }[] = [];
    for (const relay of relays) {
      try {
        ready.push({ relay, pass: health.admit(relay.label) });
      } catch {
        resting.push({ relay, pass: { destination: relay.label, probe: false } });
      }
    }
    return [...ready, ...resting];
  }

  return {
    name: 'email',
    async send(notice: Notice, recipient: EmailTarget, signal: AbortSignal): Promise<DeliveryReceipt> {
      const payload = JSON.parse(notice.payload) as EmailPayload;
      const ackUrl = payload.drill && options.drillAckLink ? await options.drillAckLink(notice.ref.id, recipient.id) : undefined;
      const raw = buildEmailMessage(payload, {
        sender,
        to: recipient.address,
        noticeId: notice.messageId,
        recipientId: recipient.id,
        unsubscribeUrl: `${options.publicUrl}/v1/unsubscribe/${recipient.unsubscribe_token}`,
        manageUrl: `${options.publicUrl}${managePath(recipient.unsubscribe_token)}`,
        ...(ackUrl !== undefined ? { ackUrl } : {}),
        date: new Date(),
      });
      const failures: Error[] = [];
      for (const { relay, pass } of route()) {
        const deadline = deadlineSignal(options.timeoutMs, signal);
        try {
          const info = (await relay.transport.sendMail({
            envelope: { from: sender.address, to: [recipient.address] },
            raw,
            signal: deadline.signal,
          })) as { response?: string };
          health.settle(pass, 'alive');
          return { detail: `${relay.label}: ${info.response ?? 'accepted'}` };
        } catch (err) {
          const e = err as NodemailerError;
          health.settle(pass, signal.aborted ? 'unknown' : aboutThisMessage(e) ? 'alive' : 'down', e.response ?? e.message);
          if (refusesRecipient(e)) {
            throw new PermanentDeliveryError(`${relay.label} refused ${recipient.address}: ${e.response ?? e.message}`, {
              cause: err,
              failure: { kind: 'mail_rejected', ...(e.responseCode !== undefined ? { code: e.responseCode } : {}) },
            });
          }
          failures.push(new Error(`${relay.label}: ${e.response ?? e.message}`, { cause: err }));
          if (signal.aborted) break;
        } finally {
          deadline.clear();
        }
      }
      throw new TransientDeliveryError(
        `no relay took the message: ${failures.map((f) => f.message).join('; ')}`,
        { cause: failures.length === 1 ? failures[0] : new AggregateError(failures), failure: { kind: 'no_mail_relay' } },
      );
    },
    destination: () => null,
    async close() {
      for (const relay of relays) relay.transport.close();
    },
  };
}
