import { advisoryDocumentSchema } from '../../src/advisory/schema';
import { createRecipientSchema } from '../../src/recipients/recipient';
import { unsafeTextProblem } from '../../src/util/safe-text';
import { fieldProblems } from '../../src/util/zod-fields';
import { sampleAdvisory } from '../support/advisory-fixture';

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every code point the rule refuses in any text, line feed aside. */
const REFUSED = [...range(0x00, 0x08), ...range(0x0b, 0x1f), 0x7f, ...range(0x80, 0x9f), 0x2028, 0x2029, ...range(0x202a, 0x202e), ...range(0x2066, 0x2069)];

describe('the rule for submitted text', () => {
  it('refuses each control, bidirectional and separator code point, naming it', () => {
    for (const cp of REFUSED) {
      const text = `Remote code ${String.fromCodePoint(cp)}execution`;
      for (const lines of ['single', 'multi'] as const) {
        const problem = unsafeTextProblem(text, lines);
        expect({ cp: hex(cp), lines, problem }).toEqual({ cp: hex(cp), lines, problem: expect.stringContaining(`${hex(cp)} (`) });
        expect(problem).toContain('at character 13');
      }
    }
    expect(unsafeTextProblem('a\r\nb', 'multi')).toMatch(/^U\+000D \(a carriage return/);
    expect(unsafeTextProblem('fdp.exe\u202Etxt', 'single')).toMatch(/^U\+202E \(a bidirectional embedding or override\) at character 8 /);
    expect(unsafeTextProblem('👩‍💻\u2066', 'single')).toMatch(/ at character 4 /);
  });

  it('allows line feed in multi-line text only, and tab everywhere', () => {
    expect(unsafeTextProblem('line one\nline two', 'multi')).toBeNull();
    expect(unsafeTextProblem('line one\nline two', 'single')).toMatch(/^U\+000A \(a line feed, in a single-line field\)/);
    expect(unsafeTextProblem('col\tcol', 'single')).toBeNull();
  });

  it('allows ordinary text of every script, zero-width joiner and non-joiner included', () => {
    const fine = ['Überlauf in acme-server', 'می‌خواهم', 'क्‍ष', '👩‍💻 patch now', 'עברית and العربية mixed', 'é and e\u0301', '\u00a0no-break\u00a0space', '<2.3.1 >=1.0'];
    for (const text of fine) {
      expect({ text, single: unsafeTextProblem(text, 'single'), multi: unsafeTextProblem(text, 'multi') }).toEqual({ text, single: null, multi: null });
    }
  });

  it('is linear: 100 KB and 1 MiB adversarial strings take milliseconds', () => {
    const inputs = [
      'a'.repeat(1024 * 1024),
      '\u200d'.repeat(100_000) + '\u202e',
      '\t\n'.repeat(300_000) + '\u0085',
      '\u00a0\u2027\u202f\u2065'.repeat(100_000),
      `${'\ud83d\ude00'.repeat(200_000)}\u2069`,
    ];
    for (const text of inputs) {
      const start = process.hrtime.bigint();
      unsafeTextProblem(text, 'single');
      unsafeTextProblem(text, 'multi');
      expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(1000);
    }
  });
});

describe('every free-text field of the advisory document follows it', () => {
  const RLO = '\u202e';
  /** Each field, where its value sits in the document, and whether a line feed is allowed there. */
  const fields: { field: string; doc: Record<string, unknown>; multiLine: boolean }[] = [
    { field: 'document.title', doc: sampleAdvisory({ title: `Remote code ${RLO}execution` }), multiLine: false },
    { field: 'document.summary', doc: sampleAdvisory({ summary: `Crafted ${RLO}manifest` }), multiLine: true },
    { field: 'document.mitigations.0.text', doc: sampleAdvisory({ mitigations: [{ text: `Disable ${RLO}it` }] }), multiLine: true },
    { field: 'document.affected.0.product', doc: sampleAdvisory({ affected: [{ product: `acme${RLO}`, versions: '<1' }] }), multiLine: false },
    { field: 'document.affected.0.versions', doc: sampleAdvisory({ affected: [{ product: 'acme', versions: `<1${RLO}` }] }), multiLine: false },
    { field: 'document.affected.0.fixed', doc: sampleAdvisory({ affected: [{ product: 'acme', versions: '<1', fixed: `1${RLO}` }] }), multiLine: false },
    { field: 'document.affected.0.purl', doc: sampleAdvisory({ affected: [{ product: 'acme', versions: '<1', purl: `pkg:npm/acme${RLO}` }] }), multiLine: false },
    { field: 'document.cvss', doc: sampleAdvisory({ cvss: `CVSS:3.1/AV:N${RLO}` }), multiLine: false },
    { field: 'document.references.0', doc: sampleAdvisory({ references: [`https://example.org/a${RLO}b`] }), multiLine: false },
  ];

  const problemsOf = (doc: unknown) => {
    const parsed = advisoryDocumentSchema.safeParse(doc);
    return parsed.success ? [] : fieldProblems(parsed.error, 'document');
  };

  it.each(fields)('refuses U+202E in $field, naming the field and the code point', ({ field, doc }) => {
    expect(problemsOf(doc)).toEqual([{ field, message: expect.stringMatching(/^U\+202E /) }]);
  });

  it.each(fields)('$field: a line feed is refused unless the field is multi-line', ({ field, doc, multiLine }) => {
    const withLf = JSON.parse(JSON.stringify(doc).replace(RLO, '\\n')) as unknown;
    if (multiLine) expect(problemsOf(withLf)).toEqual([]);
    else expect(problemsOf(withLf)).toEqual([{ field, message: expect.stringMatching(/^U\+000A /) }]);
  });

  it('refuses CR in multi-line fields too, and judges text before it is trimmed', () => {
    expect(problemsOf(sampleAdvisory({ summary: 'one\r\ntwo' }))).toEqual([{ field: 'document.summary', message: expect.stringMatching(/^U\+000D /) }]);
    expect(problemsOf(sampleAdvisory({ title: 'Remote code execution\u2028' }))).toEqual([{ field: 'document.title', message: expect.stringMatching(/^U\+2028 /) }]);
    expect(problemsOf(sampleAdvisory({ title: '\nRemote code execution' }))).toEqual([{ field: 'document.title', message: expect.stringMatching(/^U\+000A /) }]);
  });

  it('accepts a document whose text uses joiners, tabs and line feeds where they belong', () => {
    expect(problemsOf(sampleAdvisory({ title: 'Fehler in می‌خواهم\tacme', summary: 'one\ntwo\n\nthree', mitigations: [{ text: 'a\n\tb' }] }))).toEqual([]);
  });
});

describe('recipient inputs follow it', () => {
  const problemsOf = (body: unknown) => {
    const parsed = createRecipientSchema.safeParse(body);
    return parsed.success ? [] : fieldProblems(parsed.error);
  };

  it('refuses a description, URL or token holding a refused character, naming the field and code point', () => {
    expect(problemsOf({ type: 'email', address: 'ops@example.org', description: 'ops \u2066team' })).toEqual([{ field: 'description', message: expect.stringMatching(/^U\+2066 /) }]);
    expect(problemsOf({ type: 'email', address: 'ops@example.org', description: 'ops\nteam' })).toEqual([{ field: 'description', message: expect.stringMatching(/^U\+000A /) }]);
    expect(problemsOf({ type: 'webhook', url: 'https://partner.example/hoo\nk' })).toEqual([{ field: 'url', message: expect.stringMatching(/^U\+000A /) }]);
    expect(problemsOf({ type: 'mastodon', instance_url: 'https://m.example', access_token: 'token\u0085token' })).toEqual([{ field: 'access_token', message: expect.stringMatching(/^U\+0085 /) }]);
    expect(problemsOf({ type: 'slack', channel_id: 'C0123456', token: 'xoxb-12345678', api_url: 'https://slack.example/api/\u202e', description: 'Ops 👩‍💻' })).toEqual([
      { field: 'api_url', message: expect.stringMatching(/^U\+202E /) },
    ]);
    expect(problemsOf({ type: 'email', address: 'ops@example.org', description: 'Ops\tteam 👩‍💻 می‌خواهم' })).toEqual([]);
  });
});
