import * as openpgp from 'openpgp';
import { PUBLISHER_CLOCK_SKEW_MS, sharedKeyIdReason, unusableReason } from '../pgp/publisher-keyring';
import { InvalidPublisherKeyError } from './publisher-errors';
import { unsafeTextProblem } from '../util/safe-text';

/**
 * Reads one armored public key and refuses what could never publish: a secret key (its owner
 * should not be sending it anywhere), a revoked or expired key, a key with broken self-signatures
 * or with no key able to sign.
 */
export async function readEnrolableKey(armored: string, now = new Date()): Promise<openpgp.PublicKey> {
  // openpgp.js reads the first armored block and skips any text around it: a second key pasted
  // after the first, or anything else, would be dropped without a word.
  const text = armored.trim();
  const blocks = Math.max(text.split('-----BEGIN PGP ').length, text.split('-----END PGP ').length) - 1;
  if (blocks > 1) throw new InvalidPublisherKeyError(`holds ${blocks} armored blocks: enrol one key at a time`);
  if (blocks === 1 && !(text.startsWith('-----BEGIN PGP ') && /\n-----END PGP [A-Z ]+-----$/.test(text))) {
    throw new InvalidPublisherKeyError('holds text before or after its armored block: send exactly what gpg --export --armor writes');
  }
  let keys: (openpgp.PublicKey | openpgp.PrivateKey)[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armored });
  } catch (err) {
    throw new InvalidPublisherKeyError(`not an armored OpenPGP key (${(err as Error).message})`);
  }
  const [key] = keys;
  if (!key || keys.length !== 1) throw new InvalidPublisherKeyError(`holds ${keys.length} keys: enrol one key at a time`);
  if (key.isPrivate()) {
    throw new InvalidPublisherKeyError('is a secret key: send the public part only (gpg --export --armor FINGERPRINT), and consider that secret compromised');
  }
  // A key made on a machine whose clock runs a little fast is dated in tocsin's future, and would
  // not be valid yet: it is judged as of its newest creation date, within the skew signatures get.
  const latest = now.getTime() + PUBLISHER_CLOCK_SKEW_MS;
  const created = key.getKeys().map((k) => k.getCreationTime().getTime());
  if (key.getCreationTime().getTime() > latest) {
    throw new InvalidPublisherKeyError(
      `is dated ${key.getCreationTime().toISOString()}, more than ${PUBLISHER_CLOCK_SKEW_MS / 1000} s after tocsin's clock (${now.toISOString()}): check the clock of the machine that made it`,
    );
  }
  const at = new Date(Math.min(latest, Math.max(now.getTime(), ...created)));
  const unusable = await unusableReason(key, at);
  if (unusable) throw new InvalidPublisherKeyError(`is ${unusable}`);
  try {
    await key.verifyPrimaryKey(at);
  } catch (err) {
    throw new InvalidPublisherKeyError(`its self-signatures do not verify (${(err as Error).message})`);
  }
  try {
    await key.getSigningKey(undefined, at);
  } catch (err) {
    // openpgp.js's reason says what is wrong when it is not the usage: e.g. an RSA key too short.
    throw new InvalidPublisherKeyError(`has no valid key or subkey that can sign (${(err as Error).message}): a publisher must be able to sign advisories`);
  }
  // User ids are shown wherever publishers are listed: they follow the rule for submitted text.
  for (const [index, userId] of key.getUserIDs().entries()) {
    const problem = unsafeTextProblem(userId, 'single');
    if (problem) throw new InvalidPublisherKeyError(`its user id ${index + 1} breaks the rule for submitted text: ${problem}`);
  }
  return key as openpgp.PublicKey;
}

/**
 * Refuses a key that shares a key id or fingerprint (primary or subkey) with an enrolled one: a
 * copy of a publisher's key carried as a subkey of another would make that publisher's
 * signatures ambiguous. Run under the registry's lock, against the keyring in force.
 */
export function refuseSharedKeyIds(key: openpgp.PublicKey, enrolled: readonly openpgp.PublicKey[]): void {
  const shared = sharedKeyIdReason(key, enrolled);
  if (shared) throw new InvalidPublisherKeyError(shared);
}
