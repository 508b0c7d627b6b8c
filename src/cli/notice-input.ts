import { readFile } from 'node:fs/promises';

/** A document and tocsin's detached signature over it, however the recipient came by them. */
export interface SignedInput {
  document: string;
  signature: string;
  /** Where the pair came from, for messages. */
  form: 'webhook body' | 'API advisory' | 'document with detached signature';
}

/**
 * Reads what a recipient actually has: a webhook body (`document` + `signature`), an API
 * advisory (`document` + `broadcaster_signature`), or a plain document with `FILE.asc` beside it.
 */
export async function readSignedInput(file: string, sigFile?: string): Promise<SignedInput> {
  const text = await readFile(file, 'utf8');
  if (!sigFile) {
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: a plain document, signature beside it.
    }
    if (json && typeof json === 'object') {
      const o = json as Record<string, unknown>;
      if (typeof o.document === 'string' && typeof o.signature === 'string') {
        return { document: o.document, signature: o.signature, form: 'webhook body' };
      }
      if (typeof o.document === 'string' && typeof o.broadcaster_signature === 'string') {
        return { document: o.document, signature: o.broadcaster_signature, form: 'API advisory' };
      }
    }
  }
  const signature = await readFile(sigFile ?? `${file}.asc`, 'utf8');
  return { document: text, signature, form: 'document with detached signature' };
}
