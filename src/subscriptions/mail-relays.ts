import type { Transporter } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { createSmtpTransport, redactRelayUrl, refusesRecipient } from '../channels/smtp-transport';

/**
 * A relay refused this recipient or this message for good (5xx to RCPT TO or DATA): another relay,
 * or the same one later, would only say the same. Do not send it again.
 */
export class MailRefusedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MailRefusedError';
  }
}

/** Sends one finished message: the relays in order, the next when one refuses or is unreachable. */
export interface MailRelays {
  /**
   * Resolves once a relay took the message. Rejects with {@link MailRefusedError} when a relay
   * refused it for good, else (every relay down or answering "later") naming every relay's answer.
   */
  send(from: string, to: string, raw: string): Promise<void>;
  close(): void;
}

/** The SMTP relays of TOCSIN_SMTP_URLS, for the API's own mail (confirmations), built like the email channel's. */
export function createMailRelays(smtpUrls: readonly string[], timeoutMs: number): MailRelays {
  // Subscription mail is rare and rate-limited: two connections per relay are plenty.
  const relays: { label: string; transport: Transporter }[] = smtpUrls.map((url, i) => ({
    label: `relay ${i + 1} (${redactRelayUrl(url)})`,
    transport: createSmtpTransport(url, { concurrency: 2, timeoutMs }),
  }));
  return {
    async send(from, to, raw) {
      const failures: string[] = [];
      for (const relay of relays) {
        try {
          await relay.transport.sendMail({ envelope: { from, to: [to] }, raw, signal: AbortSignal.timeout(timeoutMs) });
          return;
        } catch (err) {
          const e = err as NodemailerError;
          const answer = `${relay.label}: ${e.response ?? e.message ?? String(err)}`;
          if (refusesRecipient(e)) throw new MailRefusedError(`refused for good by ${answer}`, { cause: err });
          failures.push(answer);
        }
      }
      throw new Error(`no relay took the message: ${failures.join('; ')}`);
    },
    close() {
      for (const relay of relays) relay.transport.close();
    },
  };
}
