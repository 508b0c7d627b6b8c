import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { ensureDir, PUBLIC_FILE_MODE, writeFileDurable } from '../storage/durable-file';
import { armorPrivateKey, broadcasterKeyPaths, generateBroadcasterKey, loadBroadcasterKey } from './broadcaster-key';
import { unusableReason } from './broadcaster-keys';
import { retiredKeyPaths } from './key-history';
import { parseTransition, signTransition, type SignedTransition } from './key-transition';

export interface RotateOptions {
  keysDir: string;
  passphrase: string | undefined;
  /** Days both keys sign every notice. 0: the new key signs alone at once. */
  overlapDays: number;
  /** Days until the new key expires; 0: never. */
  expiresDays: number;
  /** Rotate even though the last rotation's overlap is still running. */
  force: boolean;
  now?: Date;
}

export interface RotationResult {
  oldFingerprint: string;
  newFingerprint: string;
  overlapUntil: Date;
  transition: SignedTransition;
  /** The key before the old one, which stops signing now because the overlap was cut short. */
  droppedFingerprint: string | null;
}

/** The rotation was not made; nothing was written. `exitCode` 2: the operator must decide. */
export class RotationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationRefusedError';
  }
}

const DAY_MS = 86_400_000;

/**
 * Replaces the broadcaster key so that recipients who trust the old key can follow: the old key
 * certifies the new key's user ids, both keys sign a transition statement, and the old key keeps
 * signing beside the new one until the overlap ends.
 *
 * Files are replaced one by one, each atomically, in an order where every intermediate state is
 * consistent for a reader: the statement counts only once the new private key is in place, and the
 * new key's revocation certificate is written last.
 */
export async function rotateBroadcasterKey(options: RotateOptions): Promise<RotationResult> {
  const now = options.now ?? new Date();
  const paths = broadcasterKeyPaths(options.keysDir);
  const old = await loadBroadcasterKey(options.keysDir, options.passphrase);
  const unusable = await unusableReason(old.publicKey, now);
  if (unusable) {
    throw new RotationRefusedError(
      `the current key ${old.fingerprint} cannot vouch for a successor: ${unusable}. ` +
        'Create a new key with "tocsin keys init --force" and give recipients its fingerprint out of band.',
    );
  }
  const running = await runningOverlap(paths.transition, old.fingerprint, now);
  if (running && !options.force) {
    throw new RotationRefusedError(
      `the last rotation's overlap runs until ${running.overlap_until}: recipients of ${running.old_fingerprint} may not have followed yet. ` +
        'Wait, or pass --force to stop that key signing now.',
    );
  }

  const primary = await old.publicKey.getPrimaryUser(now);
  const userIDs = old.publicKey.users
    .map((u) => u.userID)
    .filter((u): u is openpgp.UserIDPacket => u !== null)
    .sort((a, b) => (a === primary.user.userID ? -1 : b === primary.user.userID ? 1 : 0))
    .map((u) => ({ name: u.name, email: u.email, comment: u.comment }));
  // Created at `now` exactly: a certification dated before its key's creation is invalid to gpg,
  // and generating may cross a second boundary.
  const generated = await generateBroadcasterKey(userIDs, options.expiresDays, now);
  // The old key's certification on each user id is what `gpg --check-sigs` shows recipients.
  const certified = await generated.privateKey.signAllUsers([old.privateKey], now);
  const overlapUntil = new Date(now.getTime() + options.overlapDays * DAY_MS);
  const transition = await signTransition(old.privateKey, certified, now, overlapUntil);

  const oldPrivateArmored = await readFile(paths.privateKey, 'utf8');
  const oldRevocation = await readFile(paths.revocation, 'utf8').catch(() => null);
  const dropped = running ? running.old_fingerprint : null;
  // Private files get the default 0600, and their directory is tightened to 0700 first.
  await ensureDir(paths.privateDir);
  await writeFileDurable(paths.previousPrivateKey, oldPrivateArmored);
  await writeFileDurable(paths.previousPublicKey, old.armoredPublicKey, PUBLIC_FILE_MODE);
  if (oldRevocation !== null) await writeFileDurable(paths.previousRevocation, oldRevocation);
  await writeFileDurable(paths.transition, transition.text, PUBLIC_FILE_MODE);
  await writeFileDurable(paths.transitionSignature, transition.signature, PUBLIC_FILE_MODE);
  // previous.* and transition.json hold only the last rotation; the mirror's verify page needs
  // every retired key and the statement linking it to its successor, so they are kept here too.
  const retired = retiredKeyPaths(options.keysDir, old.fingerprint);
  await writeFileDurable(retired.publicKey, old.armoredPublicKey, PUBLIC_FILE_MODE);
  await writeFileDurable(retired.transition, transition.text, PUBLIC_FILE_MODE);
  await writeFileDurable(retired.transitionSignature, transition.signature, PUBLIC_FILE_MODE);
  await writeFileDurable(paths.privateKey, await armorPrivateKey(certified, options.passphrase));
  await writeFileDurable(paths.publicKey, certified.toPublic().armor(), PUBLIC_FILE_MODE);
  await writeFileDurable(paths.revocation, generated.revocationCertificate);

  return {
    oldFingerprint: old.fingerprint,
    newFingerprint: certified.getFingerprint().toUpperCase(),
    overlapUntil,
    transition,
    droppedFingerprint: dropped,
  };
}

/** The statement of a rotation to the current key whose overlap has not ended yet, if any. */
async function runningOverlap(file: string, currentFingerprint: string, now: Date) {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  const statement = parseTransition(text);
  if (statement.new_fingerprint !== currentFingerprint) return null;
  return new Date(statement.overlap_until) > now ? statement : null;
}
