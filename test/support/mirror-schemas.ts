import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const dir = path.resolve(__dirname, '../schemas');
const load = (p: string) => JSON.parse(readFileSync(path.join(dir, p), 'utf8')) as Record<string, unknown>;

/**
 * The official CSAF 2.0 (document and provider metadata) and OSV schemas, compiled with ajv
 * from the copies in test/schemas/ (see SOURCES.md). Nothing is fetched.
 */
export function mirrorValidators(): { csaf: ValidateFunction; provider: ValidateFunction; osv: ValidateFunction } {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  // The CSAF schema refers to FIRST's CVSS schemas by URLs that differ from their own ids
  // (draft-04 `id`, a date suffix): register each under the URL the CSAF schema uses.
  for (const version of ['2.0', '3.0', '3.1']) {
    const { id: _id, $id: _dollarId, $schema: _schema, license: _license, ...schema } = load(`csaf-2.0/referenced_schema/first/cvss-v${version}.json`);
    ajv.addSchema({ ...schema, $id: `https://www.first.org/cvss/cvss-v${version}.json` });
  }
  const csafSchema = load('csaf-2.0/csaf_json_schema.json');
  ajv.addSchema(csafSchema);
  return {
    csaf: ajv.getSchema(String(csafSchema.$id))!,
    provider: ajv.compile(load('csaf-2.0/provider_json_schema.json')),
    osv: ajv.compile(load('osv/schema.json')),
  };
}

/** ajv's errors, one line each, for a failing expectation's message. */
export function schemaErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}
