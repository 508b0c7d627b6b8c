import type { InputParser } from '../notice-input';

/** A webhook body (`document` + `signature`), or an advisory as `GET /v1/advisories/:id` returns it. */
export const parseWebhookInput: InputParser = (_text, json) => {
  if (!json || typeof json !== 'object') return null;
  const o = json as Record<string, unknown>;
  if (typeof o.document === 'string' && typeof o.signature === 'string') {
    return { kind: 'detached', document: o.document, signature: o.signature, form: 'webhook body' };
  }
  if (typeof o.document === 'string' && typeof o.broadcaster_signature === 'string') {
    return { kind: 'detached', document: o.document, signature: o.broadcaster_signature, form: 'API advisory' };
  }
  return null;
};

/** A bare cleartext-signed block, as a reader copies it out of any channel. */
export const parseCleartextInput: InputParser = (text) => {
  const start = text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  const endMarker = '-----END PGP SIGNATURE-----';
  const end = text.indexOf(endMarker, start);
  if (start < 0 || end < 0) return null;
  return { kind: 'cleartext', cleartext: text.slice(start, end + endMarker.length), form: 'cleartext-signed notice' };
};
