import type { InputParser } from './signed-input';

/** A webhook body (`document` + `signature`), or an advisory as `GET /v1/advisories/:id` returns it. */
export const parseWebhookInput: InputParser = (_text, json) => {
  if (!json || typeof json !== 'object') return null;
  const o = json as Record<string, unknown>;
  if (typeof o.document === 'string' && typeof o.signature === 'string') {
    const t = o.key_transition as Record<string, unknown> | undefined;
    const transition = t && typeof t.statement === 'string' && typeof t.signature === 'string' ? { statement: t.statement, signature: t.signature } : undefined;
    return { kind: 'detached', document: o.document, signature: o.signature, form: 'webhook body', ...(transition ? { transition } : {}) };
  }
  if (typeof o.document === 'string' && typeof o.broadcaster_signature === 'string') {
    return { kind: 'detached', document: o.document, signature: o.broadcaster_signature, form: 'API advisory' };
  }
  return null;
};

/** A bare cleartext-signed block, as a reader copies it out of any channel. */
export const parseCleartextInput: InputParser = (text) => {
  // Armor lines count only at the start of a line: signed text that quotes them is dash-escaped
  // ("- -----END ...") and must not end the block early. Two searches rather than one lazy regex,
  // which rescanned to the end from every BEGIN line when no END line followed (quadratic); the
  // first BEGIN line is the right one, as no END line follows a later one if none follows it.
  const begin = /^-----BEGIN PGP SIGNED MESSAGE-----\r?\n/m.exec(text);
  if (!begin) return null;
  const end = /^-----END PGP SIGNATURE-----$/gm;
  end.lastIndex = begin.index + begin[0].length;
  const found = end.exec(text);
  return found ? { kind: 'cleartext', cleartext: text.slice(begin.index, found.index + found[0].length), form: 'cleartext-signed notice' } : null;
};
