import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { httpUrl } from '../util/zod-fields';
import { isWebhookSecret } from '../channels/standard-webhooks';
import { safeText } from '../util/safe-text';

/** A label shown in listings and logs: one line, under the rule for submitted text. */
const description = z.string().check(safeText('single')).max(200).optional();
/** Submitted URLs are shown back too; `new URL` would quietly drop a tab or line feed inside one. */
const targetUrl = () => httpUrl().check(safeText('single'));

/** The body of `POST /v1/recipients`, one shape per channel. */
export const createRecipientSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: targetUrl(),
    secret: z.string().refine(isWebhookSecret, 'must be "whsec_" followed by base64 of 24 to 64 bytes').optional(),
    description,
  }),
  z.strictObject({
    type: z.literal('email'),
    address: z.string().max(254).email(),
    description,
  }),
  z.strictObject({
    type: z.literal('slack'),
    channel_id: z.string().regex(/^[CGD][A-Z0-9]{2,30}$/, 'must be a Slack channel id such as C0123456'),
    token: z.string().regex(/^xox[bp]-[A-Za-z0-9-]{8,}$/, 'must be a Slack bot or user token (xoxb-... or xoxp-...)'),
    /** Web API base, e.g. https://slack.com/api/ (GovSlack: https://slack-gov.com/api/). */
    api_url: targetUrl().optional(),
    description,
  }),
  z.strictObject({
    type: z.literal('mastodon'),
    instance_url: targetUrl(),
    access_token: z.string().check(safeText('single')).min(8).max(512),
    description,
  }),
]);
export type CreateRecipient = z.infer<typeof createRecipientSchema>;

interface Common {
  id: string;
  created_at: string;
  description?: string;
}
export interface WebhookRecipient extends Common {
  type: 'webhook';
  url: string;
  secret: string;
}
export interface EmailRecipient extends Common {
  type: 'email';
  address: string;
  /** Random; the unsubscribe link carries it, so it is shown to nobody else. */
  unsubscribe_token: string;
}
export interface SlackRecipient extends Common {
  type: 'slack';
  channel_id: string;
  token: string;
  api_url: string;
}
export interface MastodonRecipient extends Common {
  type: 'mastodon';
  instance_url: string;
  access_token: string;
}

/** A stored recipient, secrets included. Never return this from the API: see {@link publicView}. */
export type Recipient = WebhookRecipient | EmailRecipient | SlackRecipient | MastodonRecipient;
export type RecipientOf<T extends Recipient['type']> = Extract<Recipient, { type: T }>;

/** Fields that are secrets, whichever channel they belong to. */
const SECRET_FIELDS = ['secret', 'token', 'access_token', 'unsubscribe_token'] as const;

export function newRecipientId(): string {
  return `rcpt_${randomBytes(10).toString('hex')}`;
}

export function newUnsubscribeToken(): string {
  return randomBytes(24).toString('base64url');
}

/** What the API may show of a recipient: everything but its secrets. */
export function publicView(recipient: Recipient): Record<string, unknown> {
  const view: Record<string, unknown> = { ...recipient };
  for (const field of SECRET_FIELDS) delete view[field];
  return view;
}

/** The URL a recipient's deliveries connect to, for the address guard; null for email. */
export function recipientTargetUrl(input: CreateRecipient): { field: string; url: string } | null {
  switch (input.type) {
    case 'webhook':
      return { field: 'url', url: input.url };
    case 'slack':
      return input.api_url ? { field: 'api_url', url: input.api_url } : null;
    case 'mastodon':
      return { field: 'instance_url', url: input.instance_url };
    case 'email':
      return null;
  }
}
