import { createHash } from 'node:crypto';

/**
 * Web Key Directory (draft-koch-openpgp-webkey-service): a key for `local@domain` is found at
 * `https://openpgpkey.<domain>/.well-known/openpgpkey/<domain>/hu/<hash>?l=<local>` (advanced
 * method) or `https://<domain>/.well-known/openpgpkey/hu/<hash>?l=<local>` (direct method), where
 * `<hash>` is the z-base-32 encoding of the SHA-1 of the lowercased local part.
 */

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (RFC 6189 §5.1.6), most significant bit first, no padding. */
export function zBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The WKD hash of an address's local part. The draft maps only ASCII upper case to lower case
 * (as gpg does), so `toLowerCase` is limited to A-Z here.
 */
export function wkdHash(localPart: string): string {
  const lowered = localPart.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return zBase32(createHash('sha1').update(lowered, 'utf8').digest());
}

/** An address split for WKD: the domain lowercased, as it appears in the advanced path. */
export interface WkdAddress {
  local: string;
  domain: string;
  hash: string;
}

export function wkdAddress(email: string): WkdAddress {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) throw new Error(`not an email address: ${email}`);
  const local = email.slice(0, at);
  return { local, domain: email.slice(at + 1).toLowerCase(), hash: wkdHash(local) };
}
