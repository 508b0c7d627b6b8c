/** A valid advisory document; override any field. */
export function sampleAdvisory(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'ACME-2026-0001',
    revision: 1,
    kind: 'advisory',
    title: 'Remote code execution in acme-server',
    severity: 'critical',
    summary: 'A crafted plugin manifest lets an unauthenticated attacker run code as the server user.',
    published: '2026-11-24T12:00:00Z',
    affected: [{ product: 'acme-server', versions: '<2.3.1' }],
    cves: ['CVE-2026-12345'],
    mitigations: [{ text: 'Disable the plugin loader: set plugins.enabled=false.' }],
    references: ['https://example.org/advisories/ACME-2026-0001'],
    ...overrides,
  };
}

/** The text a publisher signs: pretty JSON with a final newline, as an editor would save it. */
export function documentText(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

let counter = 0;
/** A fresh advisory id per call, so tests never collide in one archive. */
export function uniqueId(prefix = 'TEST'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
