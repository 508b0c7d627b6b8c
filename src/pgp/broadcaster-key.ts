import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { writeFileDurable } from '../storage/durable-file';

/** Where the broadcaster's key pair lives under the keys directory. */
export function broadcasterKeyPaths(keysDir: string) {
  return {
    publicKey: path.join(keysDir, 'broadcaster.asc'),
    privateKey: path.join(keysDir, 'private', 'broadcaster.key.asc'),
    revocation: path.join(keysDir, 'private', 'broadcaster-revocation.asc'),
  };
}

/** Tocsin's own signing key, decrypted and ready to sign. */
export interface BroadcasterKey {
  privateKey: openpgp.PrivateKey;
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
}

/**
 * Creates a v4 ed25519 (legacy EdDSA) key: the form that Debian's gpg and Sequoia both read.
 * Also keeps a revocation certificate beside the private key, to be moved offline.
 */
export async function createBroadcasterKey(options: CreateKeyOptions): Promise<BroadcasterKey> {
  const paths = broadcasterKeyPaths(options.keysDir);
  const generated = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: options.name ?? 'tocsin broadcaster', email: options.email }],
    format: 'armored',
    ...(options.passphrase ? { passphrase: options.passphrase } : {}),
  });
  await writeFileDurable(paths.privateKey, generated.privateKey, 0o600);
  await writeFileDurable(paths.revocation, generated.revocationCertificate, 0o600);
  await writeFileDurable(paths.publicKey, generated.publicKey, 0o644);
  return loadBroadcasterKey(options.keysDir, options.passphrase);
}

export async function loadBroadcasterKey(keysDir: string, passphrase: string | undefined): Promise<BroadcasterKey> {
  const paths = broadcasterKeyPaths(keysDir);
  let armoredPrivate: string;
  try {
    armoredPrivate = await readFile(paths.privateKey, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BroadcasterKeyMissingError(paths.privateKey);
    throw err;
  }
  let privateKey = await openpgp.readPrivateKey({ armoredKey: armoredPrivate });
  if (!privateKey.isDecrypted()) {
    if (!passphrase) throw new Error(`the broadcaster key at ${paths.privateKey} is encrypted: set TOCSIN_KEY_PASSPHRASE`);
    privateKey = await openpgp.decryptKey({ privateKey, passphrase });
  }
  const publicKey = privateKey.toPublic();
  return {
    privateKey,
    publicKey,
    armoredPublicKey: publicKey.armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
  };
}
