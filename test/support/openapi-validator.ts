import { spawn } from 'node:child_process';

/** What @seriousme/openapi-schema-validator says of a document. */
export interface OpenApiVerdict {
  valid: boolean;
  version: string | undefined;
  errors?: unknown;
}

// The validator ships only ES modules and finds its bundled schemas through import.meta, which
// Jest's CommonJS loader cannot run: it runs in a plain Node process instead.
const SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const validator = new Validator({ strict: false });
const res = await validator.validate(JSON.parse(input));
process.stdout.write(JSON.stringify({ valid: res.valid, version: validator.version, errors: res.errors }));
`;

/** Validates an OpenAPI document against the official schema of its version (bundled: no network). */
export function validateOpenApi(document: unknown): Promise<OpenApiVerdict> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: __dirname, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the validator exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as OpenApiVerdict);
    });
    child.stdin.end(JSON.stringify(document));
  });
}
