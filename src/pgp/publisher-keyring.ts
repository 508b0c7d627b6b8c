import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { unsafeTextProblem } from '../util/safe-text';
import { signatureFormProblems, verifyDetached, type DetachedVerification, type VerifyRules } from './detached';

/**
 * How far ahead of tocsin's clock a publisher's signature may be dated: a publisher's machine a
 * few seconds or minutes fast must not be refused, and a signature dated later than this is.
 */
export const PUBLISHER_CLOCK_SKEW_MS = 5 * 60_000;

/** The enrolled publishers' public keys, read from `keys/publishers/*.asc`. */
export interface PublisherKeyring {
  readonly keys: readonly openpgp.PublicKey[];
  /** The files under the directory that hold each key, by uppercase primary-key fingerprint. */
  readonly files: ReadonlyMap<string, readonly string[]>;
  /** Keys in the directory that were refused when loading, with the reason. */
  readonly refused: readonly { file: string; reason: string }[];
  /**
   * Problems of form with the armored signatures, each naming its `signatures[i]`, found without
   * verifying anything: text mode, too many packets in a block, a packet sent twice. A submission
   * with any is a bad request, to refuse before verifying.
   */
  formProblems(armoredSignatures: readonly string[]): Promise<{ field: string; message: string }[]>;
  /**
   * Checks detached signatures over exactly `data`: binary mode only, made by a key or subkey
   * valid both when it signed and now, dated at most {@link PUBLISHER_CLOCK_SKEW_MS} ahead.
   */
  verify(data: Uint8Array, armoredSignatures: readonly string[]): Promise<DetachedVerification>;
}

/** Options of {@link loadPublisherKeyring}. */
export interface PublisherKeyringOptions {
  /** Tocsin's clock, read at each verification. Default: the system clock. */
  now?: () => Date;
}

/** Each key id of a key, primary first, in uppercase hex. */
export const keyIdsOf = (key: openpgp.PublicKey): string[] => key.getKeys().map((k) => k.getKeyID().toHex().toUpperCase());

/** Each fingerprint of a key, primary first, in uppercase hex. */
const fingerprintsOf = (key: openpgp.PublicKey): string[] => key.getKeys().map((k) => k.getFingerprint().toUpperCase());

/**
 * Why `key` may not join keys already enrolled: one of its key ids or fingerprints (primary or
 * subkey) is already one of theirs. Two keys sharing a key id would make signatures ambiguous,
 * and a copy of a publisher's key carried as another's subkey is a way to shadow that publisher.
 * Null when it shares none. The same primary key (the same publisher) is the caller's business.
 */
export function sharedKeyIdReason(key: openpgp.PublicKey, enrolled: readonly openpgp.PublicKey[]): string | null {
  const ids = keyIdsOf(key);
  const fingerprints = fingerprintsOf(key);
  const own = new Set<string>();
  for (const id of ids) {
    if (own.has(id)) return `holds the key id ${id} twice`;
    own.add(id);
  }
  for (const other of enrolled) {
    const shared = keyIdsOf(other).find((id) => own.has(id)) ?? fingerprintsOf(other).find((f) => fingerprints.includes(f));
    if (shared) return `shares the key id ${shared} with enrolled publisher ${other.getFingerprint().toUpperCase()}: a key id may belong to one publisher only`;
  }
  return null;
}

export async function loadPublisherKeyring(dir: string, options: PublisherKeyringOptions = {}): Promise<PublisherKeyring> {
  const now = options.now ?? (() => new Date());
  const keys: openpgp.PublicKey[] = [];
  const filesOf = new Map<string, string[]>();
  const refused: { file: string; reason: string }[] = [];
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.asc')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const read: { file: string; key: openpgp.PublicKey }[] = [];
  for (const file of files) {
    const armoredKeys = await readFile(path.join(dir, file), 'utf8');
    try {
      for (const key of await openpgp.readKeys({ armoredKeys })) {
        const deceptive = key.getUserIDs().map((u) => unsafeTextProblem(u, 'single')).find((p) => p !== null);
        if (key.isPrivate()) refused.push({ file, reason: 'holds a private key: export the public key only (gpg --export --armor)' });
        // Placed by hand or enrolled before the rule: its user id would be shown on notices all the same.
        else if (deceptive) refused.push({ file, reason: `a user id breaks the rule for submitted text: ${deceptive}` });
        else read.push({ file, key: key as openpgp.PublicKey });
      }
    } catch (err) {
      refused.push({ file, reason: (err as Error).message });
    }
  }
  // A key whose primary key id another key carries as a subkey keeps it, whatever the file
  // order: files are named by fingerprint, which a shadowing key's maker can choose.
  const primaryIds = new Set(read.map(({ key }) => key.getKeyID().toHex().toUpperCase()));
  const carriesAnothersPrimary = (key: openpgp.PublicKey) => keyIdsOf(key).slice(1).some((id) => primaryIds.has(id));
  for (const { file, key } of [...read.filter((r) => !carriesAnothersPrimary(r.key)), ...read.filter((r) => carriesAnothersPrimary(r.key))]) {
    const fingerprint = key.getFingerprint().toUpperCase();
    if (!filesOf.has(fingerprint)) {
      const shared = sharedKeyIdReason(key, keys);
      if (shared) {
        refused.push({ file, reason: `key ${fingerprint} ${shared}` });
        continue;
      }
      keys.push(key);
    }
    filesOf.set(fingerprint, [...(filesOf.get(fingerprint) ?? []), file]);
  }
  return {
    keys,
    files: filesOf,
    refused,
    formProblems: (armoredSignatures) => signatureFormProblems(armoredSignatures, { binaryOnly: true }),
    async verify(data, armoredSignatures) {
      const at = now();
      const usable = await keysValidNow(keys, at);
      const rules: VerifyRules = { now: at, skewMs: PUBLISHER_CLOCK_SKEW_MS, binaryOnly: true, signingKeyValidNow: true };
      const result = await verifyDetached(data, armoredSignatures, usable.valid, rules);
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

async function keysValidNow(keys: readonly openpgp.PublicKey[], now: Date) {
  const valid: openpgp.PublicKey[] = [];
  const invalid: { keyId: string; reason: string }[] = [];
  for (const key of keys) {
    const reason = await unusableReason(key, now);
    if (reason === null) valid.push(key);
    else for (const k of key.getKeys()) invalid.push({ keyId: k.getKeyID().toHex().toUpperCase(), reason });
  }
  return { valid, invalid };
}
