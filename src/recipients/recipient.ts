import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { webhookSecretPattern } from '../channels/standard-webhooks';

/** The body of `POST /v1/recipients`. */
export const createRecipientSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: z
      .string()
      .max(2048)
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL'),
    secret: z.string().regex(webhookSecretPattern, 'must be "whsec_" followed by base64 of 24 to 64 bytes').optional(),
    description: z.string().max(200).optional(),
  }),
]);
export type CreateRecipient = z.infer<typeof createRecipientSchema>;

export interface WebhookRecipientRecord {
  id: string;
  type: 'webhook';
  url: string;
  secret: string;
  description?: string;
  created_at: string;
}

/** A stored recipient, secrets included. Never return this from the API: see {@link publicView}. */
export type Recipient = WebhookRecipientRecord;

export function newRecipientId(): string {
  return `rcpt_${randomBytes(10).toString('hex')}`;
}

/** What the API may show of a recipient: everything but its secrets. */
export function publicView(recipient: Recipient): Omit<Recipient, 'secret'> {
  const { secret: _secret, ...rest } = recipient;
  return rest;
}
