import { readFile, unlink } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { fsyncDir } from '../storage/durable-file';
import { broadcasterKeyPaths } from './broadcaster-key';
import type { TransitionStatement } from './key-transition';

/**
 * Deletes the private key a rotation replaced once that rotation's overlap has ended: tocsin never
 * signs with it again, so nothing on this host should be able to. Its public key
 * (`previous.asc`, `retired/`) stays, for verify pages and the key history, and so does its
 * revocation certificate, which can only revoke it. A plain unlink, the directory fsynced after:
 * overwriting the file first would not reach the old blocks on a journaling or copy-on-write
 * file system or an SSD, so it would only pretend.
 *
 * Deletes only the key `statement` retires: a rotation under way in another process may already
 * have put the key it is replacing in `previous.key.asc`. Resolves to the fingerprint deleted, or
 * null when the overlap runs on or there is nothing (left) to delete.
 */
export async function deleteRetiredPrivateKey(keysDir: string, statement: TransitionStatement, now: Date): Promise<string | null> {
  if (now < new Date(statement.overlap_until)) return null;
  const paths = broadcasterKeyPaths(keysDir);
  const armored = await readFile(paths.previousPrivateKey, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (armored === null) return null;
  const fingerprint = (await openpgp.readPrivateKey({ armoredKey: armored })).getFingerprint().toUpperCase();
  if (fingerprint !== statement.old_fingerprint) return null;
  try {
    await unlink(paths.previousPrivateKey);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  await fsyncDir(paths.privateDir);
  return fingerprint;
}
