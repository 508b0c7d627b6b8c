import nodemailer, { type Transporter } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type { EmailPayload } from '../notices/email-notice';
import type { RecipientOf } from '../recipients/recipient';
import type { Channel, DeliveryReceipt, Notice } from './channel';
import { PermanentDeliveryError, TransientDeliveryError } from './delivery-errors';
import { buildEmailMessage, parseSender } from './email-message';

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
  timeoutMs: number;
}

/**
 * PGP/MIME email over pooled SMTP. The signed body comes ready from the notice; each send adds only
 * this recipient's headers. Relays are routes, not retries: when one refuses us or cannot be
 * reached, the next carries the same message within the same attempt.
 */
export function createEmailChannel(options: EmailChannelOptions): Channel<EmailTarget> {
  if (options.smtpUrls.length === 0) throw new Error('the email channel needs at least one SMTP relay');
  const sender = parseSender(options.from);
  const relays: { label: string; transport: Transporter }[] = options.smtpUrls.map((url, i) => ({
    label: `relay ${i + 1} (${redact(url)})`,
    transport: nodemailer.createTransport({
      url,
      pool: true,
      maxConnections: options.concurrency,
      // Reconnecting costs a greeting delay on many servers; let the relay decide when to hang up.
      maxMessages: Infinity,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    }),
  }));

  return {
    name: 'email',
    async send(notice: Notice, recipient: EmailTarget, signal: AbortSignal): Promise<DeliveryReceipt> {
      const raw = buildEmailMessage(JSON.parse(notice.payload) as EmailPayload, {
        sender,
        to: recipient.address,
        noticeId: notice.messageId,
        recipientId: recipient.id,
        unsubscribeUrl: `${options.publicUrl}/v1/unsubscribe/${recipient.unsubscribe_token}`,
        date: new Date(),
      });
      const failures: Error[] = [];
      for (const relay of relays) {
        try {
          const info = (await relay.transport.sendMail({
            envelope: { from: sender.address, to: [recipient.address] },
            raw,
            signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
          })) as { response?: string };
          return { detail: `${relay.label}: ${info.response ?? 'accepted'}` };
        } catch (err) {
          const e = err as NodemailerError;
          if (refusesRecipient(e)) {
            throw new PermanentDeliveryError(`${relay.label} refused ${recipient.address}: ${e.response ?? e.message}`, { cause: err });
          }
          failures.push(new Error(`${relay.label}: ${e.response ?? e.message}`, { cause: err }));
          if (signal.aborted) break;
        }
      }
      throw new TransientDeliveryError(
        `no relay took the message: ${failures.map((f) => f.message).join('; ')}`,
        { cause: failures.length === 1 ? failures[0] : new AggregateError(failures) },
      );
    },
    async close() {
      for (const relay of relays) relay.transport.close();
    },
  };
}

/**
 * A permanent (5xx) answer to RCPT TO or DATA is about this recipient or this message, and
 * another relay would only say the same. A 5xx at the greeting or to MAIL FROM is the relay
 * refusing us, which the next relay may not do.
 */
function refusesRecipient(err: NodemailerError): boolean {
  if (err.permanent !== true) return false;
  const command = (err.command ?? '').toUpperCase();
  return command.startsWith('RCPT') || command === 'DATA' || err.code === 'EMESSAGE';
}

/** The relay URL without its password, for messages that end up in logs and delivery records. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'smtp';
  }
}
