import type { KeyHealth } from './broadcaster-keys';

/** CSAF's rule: a signing key that expires within 30 days needs attention now. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * What `/readyz` says about the broadcaster key: a problem (503) when it cannot sign, a warning
 * (still 200) when it expires within {@link EXPIRY_WARNING_DAYS} days.
 */
export function keyReadiness(health: KeyHealth, now: Date = new Date()): { problem: string | null; warning: string | null } {
  if (health.unusable) {
    return { problem: `${health.fingerprint} cannot sign: ${health.unusable}; create a new key with "tocsin keys init --force"`, warning: null };
  }
  const warnings: string[] = [];
  if (health.expires && health.expires.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
    const days = Math.max(0, Math.floor((health.expires.getTime() - now.getTime()) / DAY_MS));
    warnings.push(`${health.fingerprint} expires on ${health.expires.toISOString()} (in ${days} days): rotate it with "tocsin keys rotate"`);
  }
  if (health.reloadError) warnings.push(`the keys directory could not be re-read, the last keys read stay in use: ${health.reloadError}`);
  return { problem: null, warning: warnings.length > 0 ? warnings.join('; ') : null };
}
