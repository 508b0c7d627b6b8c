import { createHmac, randomBytes } from 'node:crypto';

/** Standard Webhooks secrets: `whsec_` then base64 of 24 to 64 random bytes. */
export const webhookSecretPattern = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

/** The fewest and most key bytes the Standard Webhooks specification allows a secret. */
export const WEBHOOK_SECRET_BYTES = { min: 24, max: 64 } as const;

/**
 * Whether a new secret is one the specification allows: the pattern alone lets through 66 bytes
 * (88 characters) and base64 whose length cannot be whole bytes, so the decoded length is counted.
 */
export function isWebhookSecret(secret: string): boolean {
  if (!webhookSecretPattern.test(secret)) return false;
  const body = secret.slice('whsec_'.length);
  const chars = body.replace(/=+$/, '').length;
  // Padding, when present, must make whole 4-character groups; 4n+1 characters encode no byte count.
  if ((body.length !== chars && body.length % 4 !== 0) || chars % 4 === 1) return false;
  const bytes = Math.floor((chars * 6) / 8);
  return bytes >= WEBHOOK_SECRET_BYTES.min && bytes <= WEBHOOK_SECRET_BYTES.max;
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signStandardWebhook(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}
