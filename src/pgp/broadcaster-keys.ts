import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { broadcasterKeyPaths, loadBroadcasterKey, loadKeyPair, type BroadcasterKey } from './broadcaster-key';
import { parseTransition, type SignedTransition } from './key-transition';
import { deleteRetiredPrivateKey } from './previous-key-deletion';

/** Everything the keys directory says at one moment, read together. */
export interface KeySnapshot {
  current: BroadcasterKey;
  /** The key the last rotation replaced, when its files are still there. */
  previous: BroadcasterKey | null;
  /** The last rotation's statement, when it names the current key as the new one. */
  transition: SignedTransition | null;
  /** Revoked broadcaster keys other than the current one (keys/revoked/*.asc). */
  revoked: openpgp.PublicKey[];
}

/** What signs now. The key fields are the current key's: the one served and named in notices. */
export interface BroadcasterSigner extends BroadcasterKey {
  /** The current key, then the previous one while a rotation's overlap lasts. */
  signingKeys: openpgp.PrivateKey[];
  /** Their fingerprints, in the same order. */
  signerFingerprints: string[];
  transition: SignedTransition | null;
  /** When the previous key stops signing, while it still does; otherwise null. */
  overlapUntil: Date | null;
}

/** The current key cannot sign: revoked or expired. Publishing waits for a new key. */
export class BroadcasterKeyUnusableError extends Error {
  constructor(readonly reason: string) {
    super(`the broadcaster key cannot sign: ${reason}`);
    this.name = 'BroadcasterKeyUnusableError';
  }
}

export interface KeyHealth {
  fingerprint: string;
  /** Why the current key cannot sign, or null when it can. */
  unusable: string | null;
  /** Expiry of the current key; null when it never expires. */
  expires: Date | null;
  /** The last re-read of the keys directory failed (the previous keys stay in use). */
  reloadError: string | null;
}

export interface BroadcasterKeys {
  /** The keys as the directory holds them now, re-read when any key file changed. */
  snapshot(): Promise<KeySnapshot>;
  /** The last snapshot read, without looking at the files again; throws before the first. */
  cached(): KeySnapshot;
  /** The keys to sign with now; throws {@link BroadcasterKeyUnusableError} when the current key cannot. */
  signer(now?: Date): Promise<BroadcasterSigner>;
  health(now?: Date): Promise<KeyHealth>;
  /**
   * Deletes the previous private key when the last rotation's overlap has ended (see
   * deleteRetiredPrivateKey); resolves to its fingerprint, or null when there was none to delete.
   * `signer` does it too, the first time it finds the overlap over; the API's maintenance pass
   * calls this so that it happens when nothing is published as well.
   */
  deleteRetiredKey(now?: Date): Promise<string | null>;
}

/** Why a key cannot sign at `now` (revoked, expired, no valid self-signature), or null. */
export async function unusableReason(key: openpgp.PublicKey, now: Date): Promise<string | null> {
  if (await key.isRevoked(undefined, undefined, now)) return 'it is revoked';
  try {
    await key.verifyPrimaryKey(now);
    return null;
  } catch (err) {
    const expires = await key.getExpirationTime().catch(() => null);
    if (expires instanceof Date && expires <= now) return `it expired on ${expires.toISOString()}`;
    return (err as Error).message;
  }
}

/**
 * The broadcaster keys of a running API. `tocsin keys rotate` and `tocsin keys revoke` write the
 * keys directory from another process; every use checks the files' identity (a few stat calls)
 * and re-reads them when they changed, so neither needs a restart.
 */
export function createBroadcasterKeys(keysDir: string, passphrase: string | undefined): BroadcasterKeys {
  const paths = broadcasterKeyPaths(keysDir);
  const watched = [paths.privateKey, paths.publicKey, paths.previousPrivateKey, paths.previousPublicKey, paths.transition, paths.transitionSignature, paths.revokedDir];
  let stamp = '';
  let loaded: Promise<KeySnapshot> | null = null;
  let good: KeySnapshot | null = null;
  let reloadError: string | null = null;

  async function currentStamp(): Promise<string> {
    const parts = await Promise.all(
      watched.map((f) =>
        stat(f).then(
          (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
          () => '-',
        ),
      ),
    );
    return parts.join('|');
  }

  async function load(): Promise<KeySnapshot> {
    const current = await loadBroadcasterKey(keysDir, passphrase);
    const transition = await readTransition(current.fingerprint);
    let previous: BroadcasterKey | null = null;
    if (transition) {
      previous = await loadKeyPair(paths.previousPrivateKey, paths.previousPublicKey, passphrase).catch(() => null);
      if (previous && previous.fingerprint !== transition.statement.old_fingerprint) previous = null;
    }
    return { current, previous, transition, revoked: await readRevoked(current.fingerprint) };
  }

  /** A statement counts only once the rotation finished, i.e. when its new key is the current one. */
  async function readTransition(currentFingerprint: string): Promise<SignedTransition | null> {
    const [text, signature] = await Promise.all([readFile(paths.transition, 'utf8').catch(() => null), readFile(paths.transitionSignature, 'utf8').catch(() => null)]);
    if (text === null || signature === null) return null;
    const statement = parseTransition(text);
    return statement.new_fingerprint === currentFingerprint ? { text, signature, statement } : null;
  }

  async function readRevoked(currentFingerprint: string): Promise<openpgp.PublicKey[]> {
    const files = await readdir(paths.revokedDir).catch(() => [] as string[]);
    const keys: openpgp.PublicKey[] = [];
    for (const file of files.filter((f) => f.endsWith('.asc')).sort()) {
      const key = await openpgp.readKey({ armoredKey: await readFile(path.join(paths.revokedDir, file), 'utf8') });
      if (key.getFingerprint().toUpperCase() !== currentFingerprint) keys.push(key);
    }
    return keys;
  }

  async function snapshot(): Promise<KeySnapshot> {
    const now = await currentStamp();
    if (loaded === null || now !== stamp) {
      stamp = now;
      loaded = load();
    }
    try {
      good = await loaded;
      reloadError = null;
      return good;
    } catch (err) {
      // A half-edited directory must not take the API down: keep signing with what last loaded.
      reloadError = (err as Error).message;
      loaded = null;
      if (good) return good;
      throw err;
    }
  }

  async function deleteRetiredKey(now = new Date()): Promise<string | null> {
    const keys = await snapshot();
    if (!keys.previous || !keys.transition) return null;
    return deleteRetiredPrivateKey(keysDir, keys.transition.statement, now);
  }

  return {
    snapshot,
    deleteRetiredKey,
    cached() {
      if (!good) throw new Error('the broadcaster keys have not been read yet');
      return good;
    },
    async signer(now = new Date()) {
      const keys = await snapshot();
      const reason = await unusableReason(keys.current.publicKey, now);
      if (reason) throw new BroadcasterKeyUnusableError(reason);
      const signers: BroadcasterKey[] = [keys.current];
      let overlapUntil: Date | null = null;
      if (keys.previous && keys.transition) {
        const until = new Date(keys.transition.statement.overlap_until);
        if (now < until && (await unusableReason(keys.previous.publicKey, now)) === null) {
          signers.push(keys.previous);
          overlapUntil = until;
        } else if (now >= until) {
          // Signing goes on without it either way; a failure here is retried, and logged, by the maintenance pass.
          await deleteRetiredPrivateKey(keysDir, keys.transition.statement, now).catch(() => null);
        }
      }
      return {
        ...keys.current,
        signingKeys: signers.map((k) => k.privateKey),
        signerFingerprints: signers.map((k) => k.fingerprint),
        transition: keys.transition,
        overlapUntil,
      };
    },
    async health(now = new Date()) {
      const keys = await snapshot();
      const expires = await keys.current.publicKey.getExpirationTime().catch(() => null);
      return {
        fingerprint: keys.current.fingerprint,
        unusable: await unusableReason(keys.current.publicKey, now),
        expires: expires instanceof Date ? expires : null,
        reloadError,
      };
    },
  };
}

/** A signer of one key alone, for callers that hold a key outside any keys directory. */
export function soleSigner(key: BroadcasterKey): BroadcasterSigner {
  return { ...key, signingKeys: [key.privateKey], signerFingerprints: [key.fingerprint], transition: null, overlapUntil: null };
}
