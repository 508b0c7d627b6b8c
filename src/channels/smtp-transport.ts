import nodemailer, { type Transporter } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';

/** How tocsin talks to one SMTP relay, whatever it sends: notices (workers) or subscription mail (API). */
export interface SmtpTransportOptions {
  /** Connections the pool may open to this relay. */
  concurrency: number;
  /** Bound on connecting, the greeting, and each silence in the exchange. */
  timeoutMs: number;
}

/** A pooled nodemailer transport to one relay URL (smtp:// or smtps://). */
export function createSmtpTransport(url: string, options: SmtpTransportOptions): Transporter {
  return nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: options.concurrency,
    // Reconnecting costs a greeting delay on many servers; let the relay decide when to hang up.
    maxMessages: Infinity,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    // A message is raw bytes tocsin built: nothing in it may make nodemailer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

/** The relay URL without its password, for messages that end up in logs and delivery records. */
export function redactRelayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'smtp';
  }
}

/**
 * A permanent (5xx) answer to RCPT TO or DATA is about this recipient or this message, and
 * another relay would only say the same. A 5xx at the greeting or to MAIL FROM is the relay
 * refusing us, which the next relay may not do.
 */
export function refusesRecipient(err: NodemailerError): boolean {
  return err.permanent === true && aboutThisMessage(err);
}

/** An answer to RCPT TO or DATA is about the message; the relay itself is alive and talking. */
export function aboutThisMessage(err: NodemailerError): boolean {
  const command = (err.command ?? '').toUpperCase();
  return command.startsWith('RCPT') || command === 'DATA' || err.code === 'EMESSAGE';
}
