import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultTemplatesDir } from '../../src/notices/render-notices';
import { sampleAdvisory, uniqueId } from './advisory-fixture';

/**
 * An operator's email template that loops over the document's lists inside each other, printing
 * nothing: a legal template whose render takes as long as the document asks (affected × CVEs ×
 * references × mitigations passes), whatever the regular expressions of the renderers cost.
 */
const NESTED_LOOPS = '{{#affected}}{{#cves}}{{#references}}{{#mitigations}}{{/mitigations}}{{/references}}{{/cves}}{{/affected}}';

/** A copy of the default templates whose email.txt ends in {@link NESTED_LOOPS}; the caller removes it. */
export async function heavyEmailTemplates(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-templates-'));
  await cp(defaultTemplatesDir(), dir, { recursive: true });
  const email = path.join(dir, 'email.txt');
  await writeFile(email, `${await readFile(email, 'utf8')}${NESTED_LOOPS}`);
  return dir;
}

/**
 * A valid advisory for which the email notice of {@link heavyEmailTemplates} takes seconds to
 * render: 500 × 200 × 100 × 1 passes, several seconds on a quiet core (0.6 to 1 s per million passes).
 */
export function heavyAdvisory(): Record<string, unknown> {
  return sampleAdvisory({
    id: uniqueId('HEAVY'),
    affected: Array.from({ length: 500 }, (_, i) => ({ product: `acme-module-${i}`, versions: `<${i}.4.2` })),
    cves: Array.from({ length: 200 }, (_, i) => `CVE-2026-${20000 + i}`),
    references: Array.from({ length: 100 }, (_, i) => `https://example.org/advisories/heavy/${i}`),
  });
}
