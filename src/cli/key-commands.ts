import * as openpgp from 'openpgp';
import type { Config } from '../config';
import { broadcasterKeyPaths } from '../pgp/broadcaster-key';
import { publishRevocation, RevocationFailedError } from '../pgp/key-revocation';
import { rotateBroadcasterKey, RotationRefusedError } from '../pgp/key-rotation';
import { CliFailure } from './commands';

/** `tocsin keys rotate`: a new key, certified by the old one, with a statement signed by both. */
export async function keysRotate(config: Config, options: { overlapDays: number; expiresDays: number; force: boolean }): Promise<void> {
  const paths = broadcasterKeyPaths(config.keysDir);
  let result;
  try {
    result = await rotateBroadcasterKey({ keysDir: config.keysDir, passphrase: config.keyPassphrase, ...options });
  } catch (err) {
    if (err instanceof RotationRefusedError) throw new CliFailure(err.message, 2);
    throw err;
  }
  const expires = await (await openpgp.readKey({ armoredKey: result.transition.statement.new_key })).getExpirationTime();
  console.log(`old key:     ${result.oldFingerprint} (signs beside the new key until ${result.overlapUntil.toISOString()})`);
  console.log(`new key:     ${result.newFingerprint} (certified by the old key; expires ${expires instanceof Date ? expires.toISOString() : 'never'})`);
  console.log(`transition:  ${paths.transition} and ${paths.transitionSignature}, served at ${config.publicUrl}/v1/keys/transition.json`);
  console.log(`revocation:  ${paths.revocation} (the new key's: move it offline)`);
  if (result.droppedFingerprint) console.log(`dropped:     ${result.droppedFingerprint} no longer signs (its overlap was cut short)`);
  console.log('A running API signs with the new key from its next notice; no restart needed.');
}

/** `tocsin keys revoke`: publishes the revocation certificate made with the current key. */
export async function keysRevoke(config: Config, options: { cert?: string }): Promise<void> {
  let result;
  try {
    result = await publishRevocation(config.keysDir, options.cert);
  } catch (err) {
    if (err instanceof RevocationFailedError) throw new CliFailure(err.message, 2);
    throw err;
  }
  console.log(`revoked:     ${result.fingerprint}`);
  console.log(`published:   ${broadcasterKeyPaths(config.keysDir).publicKey}, served at ${config.publicUrl}/v1/keys/broadcaster.asc and by WKD`);
  console.log('The API no longer signs: /readyz answers 503 and submissions 503 until "tocsin keys init --force" makes a new key.');
}
