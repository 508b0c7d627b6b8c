/** A CVSS v3.0 or v3.1 base vector with the score it computes to, in the shape CSAF's cvss_v3 wants. */
export interface Cvss3Base {
  version: '3.0' | '3.1';
  vectorString: string;
  baseScore: number;
  baseSeverity: 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
}

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

const BASE_METRICS = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const;

/**
 * Computes the base score of a CVSS 3.x vector that holds exactly the eight base metrics, or
 * returns null. A vector with temporal or environmental metrics is refused rather than scored
 * partly: CSAF consumers recompute every score they are given, and a half-scored vector would
 * fail their check.
 */
export function scoreCvss3(vector: string): Cvss3Base | null {
  const m = /^CVSS:(3\.[01])\/(.+)$/.exec(vector.trim());
  if (!m) return null;
  const version = m[1] as '3.0' | '3.1';
  const metrics = new Map<string, string>();
  for (const part of m[2]!.split('/')) {
    const [key, value, extra] = part.split(':');
    if (!key || !value || extra !== undefined || metrics.has(key)) return null;
    metrics.set(key, value);
  }
  if (metrics.size !== BASE_METRICS.length || !BASE_METRICS.every((k) => metrics.has(k))) return null;
  const get = (k: string) => metrics.get(k)!;

  const av = pick(WEIGHTS.AV, get('AV'));
  const ac = pick(WEIGHTS.AC, get('AC'));
  const ui = pick(WEIGHTS.UI, get('UI'));
  const [c, i, a] = [pick(WEIGHTS.CIA, get('C')), pick(WEIGHTS.CIA, get('I')), pick(WEIGHTS.CIA, get('A'))];
  const scope = get('S');
  if (scope !== 'U' && scope !== 'C') return null;
  const changed = scope === 'C';
  const pr = pick(changed ? { N: 0.85, L: 0.68, H: 0.5 } : { N: 0.85, L: 0.62, H: 0.27 }, get('PR'));
  if ([av, ac, ui, c, i, a, pr].some((w) => w === undefined)) return null;

  const iss = 1 - (1 - c!) * (1 - i!) * (1 - a!);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av! * ac! * pr! * ui!;
  const roundUp = version === '3.1' ? roundUp31 : (x: number) => Math.ceil(x * 10) / 10;
  const baseScore = impact <= 0 ? 0 : roundUp(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
  return { version, vectorString: vector.trim(), baseScore, baseSeverity: severityOf(baseScore) };
}

function pick(table: Record<string, number>, value: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(table, value) ? table[value] : undefined;
}

/** CVSS 3.1's Roundup, which avoids floating point surprises such as 4.000000001 becoming 4.1. */
function roundUp31(x: number): number {
  const scaled = Math.round(x * 100_000);
  return scaled % 10_000 === 0 ? scaled / 100_000 : (Math.floor(scaled / 10_000) + 1) / 10;
}

function severityOf(score: number): Cvss3Base['baseSeverity'] {
  if (score === 0) return 'NONE';
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}
