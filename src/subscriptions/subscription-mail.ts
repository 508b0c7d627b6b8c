import { randomBytes } from 'node:crypto';
import type { Sender } from '../channels/email-message';
import { structuredHeader, unstructuredHeader } from '../channels/mail-header';
import { buildSignedBody, buildSignedEntity, micalgOf } from '../notices/pgp-mime';
import { signDetached, type SigningKeys } from '../pgp/detached';

/** One mail to one would-be subscriber: its text is theirs alone (their link), so it is signed for them. */
export interface SubscriptionMail {
  to: string;
  subject: string;
  text: string;
}

/** What signs and addresses it: the broadcaster's keys as they sign now, and TOCSIN_MAIL_FROM. */
export interface MailSigning {
  signingKeys: SigningKeys;
  fingerprint: string;
  sender: Sender;
  date: Date;
}

/**
 * The whole message as it goes over SMTP, PGP/MIME signed (RFC 3156) like every notice, so a
 * subscriber can check from the first mail that it comes from the key they will trust later.
 * No List-Unsubscribe: there is nothing to unsubscribe from yet.
 */
export async function buildSubscriptionMail(mail: SubscriptionMail, signing: MailSigning): Promise<string> {
  const text = `${mail.text.trimEnd()}\n\nThis message is signed with OpenPGP (PGP/MIME) by the broadcaster key\n  ${spaced(signing.fingerprint)}\n`;
  const entity = buildSignedEntity(text);
  const signature = await signDetached(Buffer.from(entity, 'utf8'), signing.signingKeys);
  const { contentType, body } = buildSignedBody(entity, signature, await micalgOf(signature));
  const headers = [
    structuredHeader('From', signing.sender.header),
    structuredHeader('To', mail.to),
    unstructuredHeader('Subject', mail.subject),
    structuredHeader('Date', signing.date.toUTCString().replace(/GMT$/, '+0000')),
    structuredHeader('Message-ID', `<sub_${randomBytes(12).toString('hex')}@${signing.sender.domain}>`),
    'MIME-Version: 1.0',
    // RFC 3834: an automatic reply to a request; vacation responders should stay quiet.
    'Auto-Submitted: auto-replied',
    structuredHeader('Content-Type', contentType),
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** `ABCD 1234 ...`: how the notices print a fingerprint, so the two can be compared by eye. */
const spaced = (fingerprint: string) => fingerprint.replace(/(.{4})(?!$)/g, '$1 ');

/** The confirmation mail: the link confirms, nothing else does, and it says what happens if ignored. */
export function confirmationMail(address: string, confirmUrl: string, expiresAt: Date): SubscriptionMail {
  return {
    to: address,
    subject: 'Confirm your subscription to security advisories',
    text: [
      'Someone, hopefully you, asked to receive security advisories at this address.',
      '',
      'To confirm, open this link and press the button on the page:',
      `  ${confirmUrl}`,
      '',
      `The link works once, until ${expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}.`,
      'If you did not ask for this, ignore this message: nothing will be sent to you.',
    ].join('\n'),
  };
}

/**
 * Sent instead of a second confirmation to an address that is already subscribed: the answer to
 * the request was the same, and the owner learns how to change what they receive.
 */
export function alreadySubscribedMail(address: string, manageUrl: string): SubscriptionMail {
  return {
    to: address,
    subject: 'You are already subscribed to security advisories',
    text: [
      'Someone, hopefully you, asked to subscribe this address to security advisories.',
      'It is already subscribed, so nothing changed.',
      '',
      'To change which advisories you receive, or to unsubscribe, open:',
      `  ${manageUrl}`,
      '',
      'If you did not ask for this, ignore this message.',
    ].join('\n'),
  };
}
