import { readFile } from 'node:fs/promises';
import { inputParsers } from './inputs/registry';
import type { SignedInput } from './inputs/signed-input';

/**
 * Reads what a recipient actually has. With `sigFile` (or a `FILE.asc` beside it and no parser
 * recognising FILE), FILE is the bare signed document.
 */
export async function readSignedInput(file: string, sigFile?: string): Promise<SignedInput> {
  const text = await readFile(file, 'utf8');
  if (!sigFile) {
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: an .eml, a cleartext block, or a bare document.
    }
    for (const parse of inputParsers) {
      const found = parse(text, json);
      if (found) return found;
    }
  }
  const signature = await readFile(sigFile ?? `${file}.asc`, 'utf8');
  return { kind: 'detached', document: text, signature, form: 'document with detached signature' };
}
