import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import * as recommended from '@secvisogram/csaf-validator-lib/optionalTests.js';
import * as schema from '@secvisogram/csaf-validator-lib/schemaTests.js';
import type { DocumentTest } from '@secvisogram/csaf-validator-lib/mandatoryTests.js';

/**
 * Recommended tests (CSAF 2.0 section 6.2) that tocsin's documents are known to fail, because the
 * advisory format does not carry what they want; README.md ("Static mirror") lists them too.
 * - 6.2.2 missing remediation: an advisory with neither mitigations nor a fixed version.
 * - 6.2.3 missing score: an advisory without a CVSS 3.x base vector.
 * - 6.2.12 missing document language: the advisory does not say its language.
 * - 6.2.16 missing product identification helper: a product without a (conformant) purl.
 */
export const KNOWN_CSAF_WARNINGS = ['optionalTest_6_2_2', 'optionalTest_6_2_3', 'optionalTest_6_2_12', 'optionalTest_6_2_16'];

/**
 * Runs the BSI's implementation of CSAF 2.0's conformance tests (@secvisogram/csaf-validator-lib)
 * over a document: the strict schema (no unknown properties), every mandatory test (section 6.1)
 * and every recommended one (6.2, "optional" in the library's names). None of these touches the
 * network; the library's informative tests (6.3), which fetch URLs and run hunspell, are
 * deliberately not imported.
 *
 * `errors` are schema and mandatory-test failures; `warnings` the recommended tests' findings.
 * Each is one line: the test's name, the JSON pointer, the library's message.
 */
export async function csafConformance(doc: unknown): Promise<{ errors: string[]; warnings: string[] }> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const run = async (tests: DocumentTest[], failing: string[]) => {
    for (const test of tests) {
      const result = await test(doc);
      for (const e of result.errors ?? []) failing.push(`${test.name} ${e.instancePath || '/'}: ${e.message}`);
      for (const w of result.warnings ?? []) warnings.push(`${test.name} ${w.instancePath || '/'}: ${w.message}`);
      if (result.isValid === false && (result.errors ?? []).length === 0) failing.push(`${test.name}: invalid, with no message`);
    }
  };
  await run([schema.csaf_2_0_strict!, ...Object.values(mandatory)], errors);
  await run(Object.values(recommended), warnings);
  return { errors, warnings };
}

/** The recommended-test warnings not in KNOWN_CSAF_WARNINGS. */
export function unexpectedWarnings(warnings: string[]): string[] {
  return warnings.filter((w) => !KNOWN_CSAF_WARNINGS.includes(w.split(' ')[0]!));
}
