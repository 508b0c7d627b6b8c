import addressparser from 'nodemailer/lib/addressparser';
import { encodeWords } from 'nodemailer/lib/mime-funcs';
import type { EmailPayload } from '../notices/email-notice';
import { newBoundary } from '../notices/pgp-mime';
import { structuredHeader, unstructuredHeader } from './mail-header';

/** A parsed From address: the header as written, and the bare address for the envelope. */
export interface Sender {
  header: string;
  address: string;
  domain: string;
}

/** Parses TOCSIN_MAIL_FROM ("ACME Security <security@acme.example>" or a bare address). */
export function parseSender(from: string): Sender {
  const [first] = addressparser(from, { flatten: true });
  const address = first?.address;
  const at = address?.lastIndexOf('@') ?? -1;
  if (!first || !address || at < 1) throw new Error(`the From address "${from}" has no usable mailbox`);
  const header = first.name ? `${encodeWords(first.name, 'Q', 52)} <${address}>` : address;
  return { header, address, domain: address.slice(at + 1) };
}

export interface Envelope {
  sender: Sender;
  to: string;
  /** The notice's id; with the recipient's id, the Message-ID every attempt repeats. */
  noticeId: string;
  recipientId: string;
  unsubscribeUrl: string;
  /** This recipient's page to change what it receives (or to unsubscribe), sent as List-Help. */
  manageUrl?: string;
  /** A drill's acknowledgement link for this recipient, in an unsigned part before the signed one. */
  ackUrl?: string;
  date: Date;
}

/** `<msg_x.rcpt_y@domain>`: the same on every retry, so a mailbox shows a re-sent notice once. */
export function messageIdHeader(noticeId: string, recipientId: string, domain: string): string {
  return `<${noticeId}.${recipientId}@${domain}>`;
}

/**
 * The whole message as it goes over SMTP: this recipient's header lines in front of the signed
 * body, which is byte for byte the same for everyone. Every header goes through mail-header, so
 * no value (the subject holds the publisher's title) can add a header or end the header block.
 */
export function buildEmailMessage(payload: EmailPayload, envelope: Envelope): string {
  const headers = [
    structuredHeader('From', envelope.sender.header),
    structuredHeader('To', envelope.to),
    unstructuredHeader('Subject', payload.subject),
    structuredHeader('Date', envelope.date.toUTCString().replace(/GMT$/, '+0000')),
    structuredHeader('Message-ID', messageIdHeader(envelope.noticeId, envelope.recipientId, envelope.sender.domain)),
    'MIME-Version: 1.0',
    structuredHeader('List-Unsubscribe', `<${envelope.unsubscribeUrl}>`),
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    // The signed body is the same bytes for everyone, so a link of this recipient's own travels
    // as a header (RFC 2369 List-Help: where to learn how to change the subscription).
    ...(envelope.manageUrl ? [structuredHeader('List-Help', `<${envelope.manageUrl}>`)] : []),
  ];
  if (envelope.ackUrl === undefined) return [...headers, structuredHeader('Content-Type', payload.contentType)].join('\r\n') + `\r\n\r\n${payload.body}`;
  const mixed = withAckPart(payload, envelope.ackUrl);
  return [...headers, structuredHeader('Content-Type', mixed.contentType)].join('\r\n') + `\r\n\r\n${mixed.body}`;
}

/**
 * A drill's message: multipart/mixed (RFC 2046), a short unsigned note with this recipient's
 * acknowledgement link first, then the signed multipart/signed body exactly as everyone gets it.
 * The link cannot go inside the signature, which covers the same bytes for every recipient; the
 * note says so, and says nothing a reader must trust.
 */
export function withAckPart(payload: EmailPayload, ackUrl: string): { contentType: string; body: string } {
  if (!/^[\x21-\x7e]+$/.test(ackUrl)) throw new Error('the acknowledgement link holds characters a 7-bit part cannot carry');
  const boundary = newBoundary('mixed');
  const body = [
    'This is a multi-part message in MIME format.',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    'Content-Disposition: inline',
    '',
    '[DRILL] No action needed',
    '',
    'This is a drill of the security advisory broadcast. To confirm that it',
    'reached you, open this link once and press the button:',
    '',
    ackUrl,
    '',
    'This note is not signed; the signed drill notice follows.',
    `--${boundary}`,
    structuredHeader('Content-Type', payload.contentType),
    '',
    // The signed body ends with CRLF, which the closing delimiter takes as its own (RFC 2046).
    `${payload.body}--${boundary}--`,
    '',
  ].join('\r\n');
  return { contentType: `multipart/mixed; boundary="${boundary}"`, body };
}
