import { readFile } from 'node:fs/promises';
import { inputParsers } from './inputs/registry';

/** What a recipient holds, reduced to something OpenPGP can check. */
export type SignedInput =
  | {
      kind: 'detached';
      /** The exact signed text. */
      document: string;
      /** Tocsin's armored detached signature over `document`. */
      signature: string;
      /** Where the pair came from, for messages: "webhook body", "email (.eml)", ... */
      form: string;
      /** A key transition statement the input carries (a webhook body after a rotation). */
      transition?: { statement: string; signature: string };
    }
  | {
      kind: 'cleartext';
      /** A complete `-----BEGIN PGP SIGNED MESSAGE-----` block. */
      cleartext: string;
      form: string;
    };

/**
 * A parser recognises one form a channel delivers (a webhook body, an .eml file, a Slack
 * message as the API returns it, ...) and returns null for anything else.
 */
export type InputParser = (text: string, json: unknown) => SignedInput | null;

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
