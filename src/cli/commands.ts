import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import type { Config } from '../config';
import { broadcasterKeyPaths, createBroadcasterKey } from '../pgp/broadcaster-key';
import { signDetached, verifyCleartext, verifyDetached } from '../pgp/detached';
import { unusableReason } from '../pgp/broadcaster-keys';
import { describeSignedText } from './describe-signed-text';
import { readSignedInput } from './notice-input';
import { printable } from './terminal-text';
import { followTransitions, type TransitionInput } from './trusted-keys';

/**
 * Exit codes: 0 success, 1 the check failed or the server refused, 2 bad usage or setup, 3 some
 * deliveries failed or wait for a retry, 4 held for more signatures, 130 interrupted (Ctrl-C).
 */
export class CliFailure extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliFailure';
  }
}

export async function keysInit(config: Config, force: boolean, expiresDays = 0): Promise<void> {
  const paths = broadcasterKeyPaths(config.keysDir);
  const exists = await readFile(paths.privateKey).then(() => true, () => false);
  if (exists && !force) {
    throw new CliFailure(`a broadcaster key already exists at ${paths.privateKey}; use --force to replace it (recipients will need the new fingerprint)`, 2);
  }
  const key = await createBroadcasterKey({ keysDir: config.keysDir, email: config.keyEmail, passphrase: config.keyPassphrase, expiresDays });
  console.log(`fingerprint: ${key.fingerprint}`);
  const expires = await key.publicKey.getExpirationTime();
  console.log(`expires:     ${expires instanceof Date ? expires.toISOString() : 'never'}`);
  console.log(`public key:  ${paths.publicKey}`);
  console.log(`private key: ${paths.privateKey}${config.keyPassphrase ? ' (encrypted with TOCSIN_KEY_PASSPHRASE)' : ' (NOT encrypted: set TOCSIN_KEY_PASSPHRASE)'}`);
  console.log(`revocation:  ${paths.revocation} (move it offline)`);
}

export async function signFile(file: string, keyFile: string, passphrase: string | undefined): Promise<string> {
  let key = await openpgp.readPrivateKey({ armoredKey: await readFile(keyFile, 'utf8') });
  if (!key.isDecrypted()) {
    if (!passphrase) throw new CliFailure(`${keyFile} is encrypted: set TOCSIN_SIGN_PASSPHRASE`, 2);
    key = await openpgp.decryptKey({ privateKey: key, passphrase });
  }
  const out = `${file}.asc`;
  await writeFile(out, await signDetached(await readFile(file), key));
  return out;
}

/**
 * The keys a reader trusts, armored (as `broadcaster.asc`) or binary (as WKD serves them and
 * `gpg --export` writes them). A key that cannot be read is a setup problem, exit 2: exit 1 is kept
 * for a signature that does not verify.
 */
async function readVerificationKeys(keyFile: string): Promise<openpgp.PublicKey[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(keyFile);
  } catch (err) {
    throw new CliFailure(`cannot read the key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  const armored = /^\s*-----BEGIN PGP /.test(bytes.subarray(0, 64).toString('latin1'));
  try {
    const keys = armored ? await openpgp.readKeys({ armoredKeys: bytes.toString('utf8') }) : await openpgp.readKeys({ binaryKeys: bytes });
    return keys.map((k) => k.toPublic());
  } catch (err) {
    throw new CliFailure(`${keyFile} holds no OpenPGP public key, armored or binary, that can be read (${(err as Error).message})`, 2);
  }
}

export async function verify(file: string, options: { key?: string; sig?: string; transition?: string[] }, config: Config): Promise<void> {
  const keyFile = options.key ?? path.join(config.keysDir, 'broadcaster.asc');
  const given = await readVerificationKeys(keyFile);
  const input = await readSignedInput(file, options.sig);
  const transitions: TransitionInput[] = await Promise.all(
    (options.transition ?? []).map(async (t) => ({ statement: await readFile(t, 'utf8'), signature: await readFile(`${t}.asc`, 'utf8'), source: t })),
  );
  if (input.kind === 'detached' && input.transition) transitions.push({ ...input.transition, source: `the ${input.form}'s key_transition` });
  const trusted = await followTransitions(given, transitions);
  const keys = trusted.keys;
  const result =
    input.kind === 'detached'
      ? await verifyDetached(Buffer.from(input.document, 'utf8'), [input.signature], keys)
      : await verifyCleartext(input.cleartext, keys);
  // Everything printed below may quote the input (titles, ids, parser messages): one value per
  // line, controls shown as escapes, so no input can write to the terminal or forge a line.
  const say = (line: string) => console.log(printable(line));
  const good = result.valid[0];
  if (!good) {
    const why = [...result.problems, ...(options.transition?.length ? trusted.refused : [])];
    throw new CliFailure(printable(`BAD: no valid signature (${why.join('; ') || 'unknown reason'})`));
  }
  say(`OK: good signature on the ${input.form}`);
  const now = new Date();
  for (const v of result.valid) {
    const key = keys.find((k) => k.getFingerprint().toUpperCase() === v.fingerprint);
    // Judged at signing time (a notice stays valid after its key retires); say what changed since.
    const since = key ? await unusableReason(key, now) : null;
    say(`signer: ${v.fingerprint}${since ? ` (valid when it signed; since then ${since.replace(/^it /, 'the key ')})` : ''}`);
  }
  for (const f of trusted.followed) {
    if (result.valid.some((v) => v.fingerprint === f.statement.new_fingerprint)) {
      say(`key change: ${f.statement.old_fingerprint} -> ${f.statement.new_fingerprint} on ${f.statement.created} (statement signed by both keys, from ${f.source})`);
    }
  }
  for (const r of options.transition?.length ? trusted.refused : []) console.error(printable(`note: transition not followed: ${r}`));
  const about = describeSignedText(result.text);
  say(`advisory: ${about.id} revision ${about.revision}`);
  if (about.title) say(`title: ${about.title}`);
}

