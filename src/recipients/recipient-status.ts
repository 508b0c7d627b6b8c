import type { Recipient, RecipientOf } from './recipient';

/** Hard bounces after which an email address is inactive: one can be a relay's mistake, three are a pattern. */
export const HARD_BOUNCE_LIMIT = 3;

/** False for an address that bounced too often: it receives nothing until its owner subscribes again. */
export function isActive(recipient: Recipient): boolean {
  return recipient.type !== 'email' || recipient.status !== 'inactive';
}

/** `recipient` after one more hard bounce. Pure: the store applies a logged bounce with it, live and on replay. */
export function applyHardBounce(recipient: RecipientOf<'email'>): RecipientOf<'email'> {
  const hardBounces = (recipient.hard_bounces ?? 0) + 1;
  return { ...recipient, hard_bounces: hardBounces, status: hardBounces >= HARD_BOUNCE_LIMIT ? 'inactive' : (recipient.status ?? 'active') };
}
