import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import type { Config } from '../config';
import { broadcasterKeyPaths, createBroadcasterKey } from '../pgp/broadcaster-key';
import { signDetached, verifyCleartext, verifyDetached } from '../pgp/detached';
import { describeSignedText } from './describe-signed-text';
import { readSignedInput } from './notice-input';

/** Exit codes: 0 success, 1 the check failed or the server refused, 2 bad usage or setup. */
export class CliFailure extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliFailure';
  }
}

export async function keysInit(config: Config, force: boolean): Promise<void> {
  const paths = broadcasterKeyPaths(config.keysDir);
  const exists = await readFile(paths.privateKey).then(() => true, () => false);
  if (exists && !force) {
    throw new CliFailure(`a broadcaster key already exists at ${paths.privateKey}; use --force to replace it (recipients will need the new fingerprint)`, 2);
  }
  const key = await createBroadcasterKey({ keysDir: config.keysDir, email: config.keyEmail, passphrase: config.keyPassphrase });
  console.log(`fingerprint: ${key.fingerprint}`);
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

export async function publish(file: string, sigFiles: string[], url: string, token?: string): Promise<void> {
  const document = await readFile(file, 'utf8');
  const signatures = await Promise.all(sigFiles.map((s) => readFile(s, 'utf8')));
  const endpoint = new URL('/v1/advisories', url);
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ document, signatures }),
  });
  const body = await response.text();
  console.log(body);
  if (response.status !== 200 && response.status !== 202) {
    throw new CliFailure(`${endpoint.href} answered ${response.status}`);
  }
}

export async function verify(file: string, options: { key?: string; sig?: string }, config: Config): Promise<void> {
  const keyFile = options.key ?? path.join(config.keysDir, 'broadcaster.asc');
  const keys = await openpgp.readKeys({ armoredKeys: await readFile(keyFile, 'utf8') });
  const input = await readSignedInput(file, options.sig);
  const result =
    input.kind === 'detached'
      ? await verifyDetached(Buffer.from(input.document, 'utf8'), [input.signature], keys)
      : await verifyCleartext(input.cleartext, keys);
  const good = result.valid[0];
  if (!good) throw new CliFailure(`BAD: no valid signature (${result.problems.join('; ') || 'unknown reason'})`);
  console.log(`OK: good signature on the ${input.form}`);
  console.log(`signer: ${good.fingerprint}`);
  const about = describeSignedText(result.text);
  console.log(`advisory: ${about.id} revision ${about.revision}`);
  if (about.title) console.log(`title: ${about.title}`);
}

