import { ConfigError, loadConfig } from '../../src/config';
import { parseSignaturePolicy, requiredForRevision, requiredSignatures, type SignatureRule } from '../../src/publish/signature-policy';
import type { Severity } from '../../src/advisory/schema';

function rules(text: string): SignatureRule[] {
  const parsed = parseSignaturePolicy(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}
const needs = (r: SignatureRule[], severities: Severity[]) => severities.map((s) => requiredSignatures(r, s));

describe('the two-person policy', () => {
  it('asks one signature when unset, and the rule for that severity or worse when set', () => {
    expect(loadConfig({}).signaturePolicy).toEqual([]);
    expect(requiredSignatures([], 'critical')).toBe(1);
    const critical = loadConfig({ TOCSIN_REQUIRE_SIGNATURES: 'critical:2' }).signaturePolicy;
    expect(needs(critical, ['critical', 'high', 'none'])).toEqual([2, 1, 1]);
    expect(needs(rules('critical:3, high:2'), ['critical', 'high', 'medium'])).toEqual([3, 2, 1]);
    expect(needs(rules('all:2'), ['critical', 'none'])).toEqual([2, 2]);
  });

  it.each(['critical', 'urgent:2', 'critical:0', 'critical:17', 'all:two'])('refuses TOCSIN_REQUIRE_SIGNATURES=%s, naming the variable', (value) => {
    expect(() => loadConfig({ TOCSIN_REQUIRE_SIGNATURES: value })).toThrow(ConfigError);
    try {
      loadConfig({ TOCSIN_REQUIRE_SIGNATURES: value });
    } catch (err) {
      expect((err as ConfigError).problems.join()).toContain('TOCSIN_REQUIRE_SIGNATURES');
    }
  });

  it('reads TOCSIN_HOLD_HOURS, 72 by default', () => {
    expect(loadConfig({}).holdMs).toBe(72 * 3_600_000);
    expect(loadConfig({ TOCSIN_HOLD_HOURS: '0.5' }).holdMs).toBe(1_800_000);
    expect(() => loadConfig({ TOCSIN_HOLD_HOURS: '0' })).toThrow(/TOCSIN_HOLD_HOURS/);
  });
});

describe('the signatures a revision needs', () => {
  const critical2 = (s: Severity) => requiredSignatures(rules('critical:2'), s);
  it('are its own severity\'s, and never fewer than an earlier accepted revision\'s', () => {
    expect(requiredForRevision(critical2, 'none', [])).toBe(1);
    expect(requiredForRevision(critical2, 'critical', ['low'])).toBe(2);
    expect(requiredForRevision(critical2, 'none', ['critical'])).toBe(2);
    expect(requiredForRevision(critical2, 'none', ['high', 'critical', 'none'])).toBe(2);
  });
});
