import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { ensureDir, PUBLIC_FILE_MODE, writeFileDurable } from '../storage/durable-file';

/**
 * Where the broadcaster's keys live under the keys directory. Everything under `private/` is 0600
 * in a 0700 directory; the public keys and statements are 0644, as the API, WKD and the mirror
 * publish them anyway.
 */
export function broadcasterKeyPaths(keysDir: string) {
  return {
    privateDir: path.join(keysDir, 'private'),
    publicKey: path.join(keysDir, 'broadcaster.asc'),
    privateKey: path.join(keysDir, 'private', 'broadcaster.key.asc'),
    revocation: path.join(keysDir, 'private', 'broadcaster-revocation.asc'),
    /** The key that `tocsin keys rotate` replaced: it keeps signing during the overlap. */
    previousPublicKey: path.join(keysDir, 'previous.asc'),
    previousPrivateKey: path.join(keysDir, 'private', 'previous.key.asc'),
    previousRevocation: path.join(keysDir, 'private', 'previous-revocation.asc'),
    /** The transition statement of the last rotation and its detached signatures (old and new key). */
    transition: path.join(keysDir, 'transition.json'),
    transitionSignature: path.join(keysDir, 'transition.json.asc'),
    /** Revoked broadcaster keys, still served by WKD so that clients learn of the revocation. */
    revokedDir: path.join(keysDir, 'revoked'),
  };
}

/** Tocsin's own signing key, decrypted and ready to sign. */
export interface BroadcasterKey {
  privateKey: openpgp.PrivateKey;
  /** The public key as published: with certifications by a previous key and any revocation. */
  publicKey: openpgp.PublicKey;
  armoredPublicKey: string;
  /** Uppercase hex fingerprint, as gpg prints it. */
  fingerprint: string;
}

export class BroadcasterKeyMissingError extends Error {
  constructor(readonly file: string) {
    super(`no broadcaster key at ${file}: run "tocsin keys init"`);
    this.name = 'BroadcasterKeyMissingError';
  }
}

export interface CreateKeyOptions {
  keysDir: string;
  email: string;
  passphrase: string | undefined;
  name?: string;
  /** Days until the key expires; 0 or absent: it never expires. */
  expiresDays?: number;
}

/** A freshly generated key pair, not yet written anywhere. */
export interface GeneratedKey {
  privateKey: openpgp.PrivateKey;
  revocationCertificate: string;
}

/**
 * A v4 ed25519 (legacy EdDSA) key: the form that Debian's gpg and Sequoia both read. `date` is its
 * creation time; a signature over it (a certification) must not be older, or gpg rejects it.
 */
export async function generateBroadcasterKey(userIDs: openpgp.UserID[], expiresDays = 0, date: Date = new Date()): Promise<GeneratedKey> {
  const generated = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs,
    keyExpirationTime: Math.round(expiresDays * 86_400),
    date,
    format: 'object',
  });
  return { privateKey: generated.privateKey, revocationCertificate: generated.revocationCertificate };
}

/** The private key as stored: encrypted with the passphrase when there is one. */
export async function armorPrivateKey(privateKey: openpgp.PrivateKey, passphrase: string | undefined): Promise<string> {
  if (!passphrase) return privateKey.armor();
  return (await openpgp.encryptKey({ privateKey, passphrase })).armor();
}

/**
 * Creates the key pair and keeps a revocation certificate beside the private key, to be moved
 * offline.
 */
export async function createBroadcasterKey(options: CreateKeyOptions): Promise<BroadcasterKey> {
  const paths = broadcasterKeyPaths(options.keysDir);
  const generated = await generateBroadcasterKey([{ name: options.name ?? 'tocsin broadcaster', email: options.email }], options.expiresDays);
  await ensureDir(paths.privateDir);
  await writeFileDurable(paths.privateKey, await armorPrivateKey(generated.privateKey, options.passphrase));
  await writeFileDurable(paths.revocation, generated.revocationCertificate);
  await writeFileDurable(paths.publicKey, generated.privateKey.toPublic().armor(), PUBLIC_FILE_MODE);
  return loadBroadcasterKey(options.keysDir, options.passphrase);
}

export async function loadBroadcasterKey(keysDir: string, passphrase: string | undefined): Promise<BroadcasterKey> {
  const paths = broadcasterKeyPaths(keysDir);
  return loadKeyPair(paths.privateKey, paths.publicKey, passphrase);
}

/**
 * Reads a private key and the public key published for it. The published file is what carries
 * another key's certification (after a rotation) and a revocation (after `keys revoke`), so it
 * wins when it is the same key; the private key's own public part stands in when it is missing.
 */
export async function loadKeyPair(privateFile: string, publicFile: string, passphrase: string | undefined): Promise<BroadcasterKey> {
  let armoredPrivate: string;
  try {
    armoredPrivate = await readFile(privateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BroadcasterKeyMissingError(privateFile);
    throw err;
  }
  let privateKey = await openpgp.readPrivateKey({ armoredKey: armoredPrivate });
  if (!privateKey.isDecrypted()) {
    if (!passphrase) throw new Error(`the broadcaster key at ${privateFile} is encrypted: set TOCSIN_KEY_PASSPHRASE`);
    privateKey = await openpgp.decryptKey({ privateKey, passphrase });
  }
  const fingerprint = privateKey.getFingerprint().toUpperCase();
  let publicKey = privateKey.toPublic();
  const armoredPublic = await readFile(publicFile, 'utf8').catch(() => null);
  if (armoredPublic !== null) {
    const published = await openpgp.readKey({ armoredKey: armoredPublic });
    if (published.getFingerprint().toUpperCase() === fingerprint) publicKey = await published.update(publicKey);
  }
  return { privateKey, publicKey, armoredPublicKey: publicKey.armor(), fingerprint };
}
