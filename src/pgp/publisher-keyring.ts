import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { verifyDetached, type DetachedVerification } from './detached';

/** The enrolled publishers' public keys, read from `keys/publishers/*.asc`. */
export interface PublisherKeyring {
  readonly keys: readonly openpgp.PublicKey[];
  /** The files under the directory that hold each key, by uppercase primary-key fingerprint. */
  readonly files: ReadonlyMap<string, readonly string[]>;
  /** Keys in the directory that were refused when loading, with the reason. */
  readonly refused: readonly { file: string; reason: string }[];
  /** Checks detached signatures over exactly `data`; only keys valid now count. */
  verify(data: Uint8Array, armoredSignatures: readonly string[]): Promise<DetachedVerification>;
}

export async function loadPublisherKeyring(dir: string): Promise<PublisherKeyring> {
  const keys: openpgp.PublicKey[] = [];
  const filesOf = new Map<string, string[]>();
  const refused: { file: string; reason: string }[] = [];
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.asc')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const file of files) {
    const armoredKeys = await readFile(path.join(dir, file), 'utf8');
    try {
      for (const key of await openpgp.readKeys({ armoredKeys })) {
        if (key.isPrivate()) {
          refused.push({ file, reason: 'holds a private key: export the public key only (gpg --export --armor)' });
          continue;
        }
        const fingerprint = key.getFingerprint().toUpperCase();
        if (!filesOf.has(fingerprint)) keys.push(key as openpgp.PublicKey);
        filesOf.set(fingerprint, [...(filesOf.get(fingerprint) ?? []), file]);
      }
    } catch (err) {
      refused.push({ file, reason: (err as Error).message });
    }
  }
  return {
    keys,
    files: filesOf,
    refused,
    async verify(data, armoredSignatures) {
      const usable = await keysValidNow(keys);
      const result = await verifyDetached(data, armoredSignatures, usable.valid);
      // openpgp.js judges a key at the signature's creation time; a key that has since been
      // revoked or has expired must not publish, so those are refused by name here.
      const refusedNow = result.problems.map((problem) => {
        const hit = usable.invalid.find((k) => problem.includes(k.keyId));
        return hit ? problem.replace('which is not enrolled', `whose enrolled key is ${hit.reason}`) : problem;
      });
      return { ...result, problems: refusedNow };
    },
  };
}

/** Why a key may not publish now (`revoked`, `expired on ...`), or null when it may. */
export async function unusableReason(key: openpgp.PublicKey | openpgp.PrivateKey, now = new Date()): Promise<string | null> {
  if (await key.isRevoked(undefined, undefined, now)) return 'revoked';
  const expires = await key.getExpirationTime();
  if (expires instanceof Date && expires <= now) return `expired on ${expires.toISOString()}`;
  return null;
}

async function keysValidNow(keys: readonly openpgp.PublicKey[]) {
  const valid: openpgp.PublicKey[] = [];
  const invalid: { keyId: string; reason: string }[] = [];
  const now = new Date();
  for (const key of keys) {
    const reason = await unusableReason(key, now);
    if (reason === null) valid.push(key);
    else for (const k of key.getKeys()) invalid.push({ keyId: k.getKeyID().toHex().toUpperCase(), reason });
  }
  return { valid, invalid };
}
