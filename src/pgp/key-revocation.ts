import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { writeFileDurable } from '../storage/durable-file';
import { broadcasterKeyPaths } from './broadcaster-key';

export class RevocationFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RevocationFailedError';
  }
}

/**
 * Publishes the revocation certificate made with the current broadcaster key: the revoked key
 * replaces `broadcaster.asc` (so `/v1/keys/broadcaster.asc` and WKD serve it, and the API stops
 * signing), and a copy goes to `revoked/`, which WKD keeps serving after a new key exists.
 * Needs no passphrase: the certificate was signed when the key was made.
 */
export async function publishRevocation(keysDir: string, certificateFile?: string): Promise<{ fingerprint: string; revokedKey: openpgp.PublicKey }> {
  const paths = broadcasterKeyPaths(keysDir);
  const certFile = certificateFile ?? paths.revocation;
  const [armoredKey, revocationCertificate] = await Promise.all([
    readFile(paths.publicKey, 'utf8').catch((err: unknown) => {
      throw new RevocationFailedError(`cannot read the broadcaster key at ${paths.publicKey}`, { cause: err });
    }),
    readFile(certFile, 'utf8').catch((err: unknown) => {
      throw new RevocationFailedError(`no revocation certificate at ${certFile}: bring the offline copy back and pass --cert FILE`, { cause: err });
    }),
  ]);
  const key = await openpgp.readKey({ armoredKey });
  const fingerprint = key.getFingerprint().toUpperCase();
  let revoked: openpgp.PublicKey;
  try {
    ({ publicKey: revoked } = await openpgp.revokeKey({ key: key.toPublic(), revocationCertificate, format: 'object' }));
  } catch (err) {
    throw new RevocationFailedError(`${certFile} does not revoke the broadcaster key ${fingerprint}: ${(err as Error).message}`, { cause: err });
  }
  if (!(await revoked.isRevoked())) throw new RevocationFailedError(`${certFile} did not revoke ${fingerprint}`);
  const armored = revoked.armor();
  await writeFileDurable(path.join(paths.revokedDir, `${fingerprint}.asc`), armored, 0o644);
  await writeFileDurable(paths.publicKey, armored, 0o644);
  return { fingerprint, revokedKey: revoked };
}
