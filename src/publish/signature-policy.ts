import { severities, type Severity } from '../advisory/schema';

/**
 * One rule of the two-person policy: advisories at `scope` severity or worse need signatures from
 * at least `required` distinct enrolled publishers. `all` covers every severity.
 */
export interface SignatureRule {
  scope: Severity | 'all';
  required: number;
}

/** The most publisher signatures one submission may carry; a rule cannot ask for more. */
export const MAX_SIGNATURES = 16;

/** Higher is worse; `all` and `none` sit at the bottom, so they cover everything. */
const rank = (s: Severity | 'all'): number => (s === 'all' ? 0 : severities.length - 1 - severities.indexOf(s));

/**
 * Parses `TOCSIN_REQUIRE_SIGNATURES`: comma-separated `scope:M`, e.g. `critical:2` or
 * `critical:3,high:2` or `all:2`. Returns the problem as a string when it does not parse.
 */
export function parseSignaturePolicy(text: string): SignatureRule[] | string {
  const rules: SignatureRule[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = /^([a-z]+):(\d+)$/.exec(part);
    const scope = match?.[1];
    if (!match || !scope || (scope !== 'all' && !(severities as readonly string[]).includes(scope))) {
      return `"${part}" is not SCOPE:M with SCOPE one of all, ${severities.join(', ')}`;
    }
    const required = Number(match[2]);
    if (required < 1 || required > MAX_SIGNATURES) return `"${part}": M must be 1 to ${MAX_SIGNATURES}`;
    rules.push({ scope: scope as SignatureRule['scope'], required });
  }
  return rules;
}

/** How many distinct publishers must sign an advisory of this severity (1 when no rule applies). */
export function requiredSignatures(rules: readonly SignatureRule[], severity: Severity): number {
  return rules.filter((r) => rank(severity) >= rank(r.scope)).reduce((m, r) => Math.max(m, r.required), 1);
}

/**
 * How many distinct publishers must sign a revision: what its own severity needs, and at least
 * what each earlier accepted revision of the same id needs under the same policy. A correction
 * cannot lower the bar, or one publisher could "withdraw" a critical advisory accepted with two
 * signatures by a revision of severity `none`.
 */
export function requiredForRevision(required: (severity: Severity) => number, severity: Severity, earlier: readonly Severity[]): number {
  return earlier.reduce((m, s) => Math.max(m, required(s)), required(severity));
}
