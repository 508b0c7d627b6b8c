import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { broadcasterKeyPaths } from '../../src/pgp/broadcaster-key';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { sqVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { gpgVerifyWith } from '../support/gpg-keys';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

const run = promisify(execFile);
const DAY_MS = 86_400_000;

/** A broadcaster key created `createdDaysAgo` days ago that expires `lifeDays` after creation. */
async function pastKey(createdDaysAgo: number, lifeDays: number) {
  return openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'tocsin broadcaster', email: 'tocsin@example.org' }],
    date: new Date(Date.now() - createdDaysAgo * DAY_MS),
    keyExpirationTime: lifeDays * 86_400,
    format: 'object',
  });
}

describe('key expiry', () => {
  let dir: string;
  const publisher = useGpgPublisher('expiry@example.org');
  let tocsin: Tocsin | null = null;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-expiry-'));
    await mkdir(path.join(dir, 'keys', 'publishers'), { recursive: true });
    await writeFile(path.join(dir, 'keys', 'publishers', 'expiry.asc'), publisher.armoredPublicKey);
  });
  afterEach(async () => {
    await tocsin?.close();
    tocsin = null;
    await rm(dir, { recursive: true, force: true });
  });

  const start = () => startTocsin({ workers: false, env: { TOCSIN_KEYS_DIR: path.join(dir, 'keys') } });
  const submit = async (t: Tocsin) => {
    const document = documentText(sampleAdvisory({ id: uniqueId('EXP') }));
    return t.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
  };

  it('/readyz stays 200 but warns when the key expires within 30 days, and not otherwise', async () => {
    const init = await runCli(['keys', 'init', '--expires-days', '10'], { TOCSIN_KEYS_DIR: path.join(dir, 'keys') });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/expires: {5}\d{4}-/);
    tocsin = await start();
    const ready = await tocsin.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe('ready');
    expect(ready.json.warnings.broadcaster_key).toMatch(/expires on \S+ \(in (9|10) days\): rotate it/);
    expect((await submit(tocsin)).status).toBe(202);

    await tocsin.close();
    tocsin = null;
    expect((await runCli(['keys', 'init', '--force', '--expires-days', '31'], { TOCSIN_KEYS_DIR: path.join(dir, 'keys') })).code).toBe(0);
    tocsin = await start();
    const later = await tocsin.call('GET', '/readyz');
    expect(later.status).toBe(200);
    expect(later.json.warnings).toEqual({});
  });

  it('an expired key makes /readyz 503 and submissions 503, and cannot be rotated', async () => {
    const key = await pastKey(100, 10);
    const paths = broadcasterKeyPaths(path.join(dir, 'keys'));
    await mkdir(path.dirname(paths.privateKey), { recursive: true });
    await writeFile(paths.privateKey, key.privateKey.armor());
    await writeFile(paths.publicKey, key.publicKey.armor());
    tocsin = await start();
    const ready = await tocsin.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.problems.broadcaster_key).toMatch(/expired on/);
    const refused = await submit(tocsin);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('signing_unavailable');
    const rotate = await runCli(['keys', 'rotate'], { TOCSIN_KEYS_DIR: path.join(dir, 'keys') });
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toMatch(/expired/);
  });

  it('judges a signature by the key as it was when it signed: valid then stays valid; made after expiry is refused', async () => {
    // The key lived from 100 to 90 days ago.
    const key = await pastKey(100, 10);
    const document = documentText(sampleAdvisory({ id: 'EXPIRED-KEY-1' }));
    const bytes = Buffer.from(document);
    const whileValid = await openpgp.sign({ message: await openpgp.createMessage({ binary: bytes }), signingKeys: key.privateKey, detached: true, date: new Date(Date.now() - 95 * DAY_MS) });
    // The same key material without its expiry lets a forger date a signature after the expiry.
    const unexpiring = await openpgp.reformatKey({ privateKey: key.privateKey, userIDs: [{ email: 'tocsin@example.org' }], date: new Date(Date.now() - 100 * DAY_MS), format: 'object' });
    const afterExpiry = await openpgp.sign({ message: await openpgp.createMessage({ binary: bytes }), signingKeys: unexpiring.privateKey, detached: true, date: new Date(Date.now() - 50 * DAY_MS) });
    const keyFile = path.join(dir, 'old-key.asc');
    await writeFile(keyFile, key.publicKey.armor());
    const docFile = path.join(dir, 'advisory.json');
    await writeFile(docFile, document);
    const fpr = key.publicKey.getFingerprint().toUpperCase();

    await writeFile(`${docFile}.asc`, whileValid);
    const ok = await runCli(['verify', docFile, '--key', keyFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`signer: ${fpr} (valid when it signed; since then the key expired on`);
    expect((await sqVerify(key.publicKey.armor(), document, whileValid)).ok).toBe(true);
    const gpgOld = await gpgVerifyWith([key.publicKey.armor()], document, whileValid);
    expect(gpgOld).toMatchObject({ code: 0, valid: [fpr] });
    expect(gpgOld.output).toContain('EXPKEYSIG');

    await writeFile(`${docFile}.asc`, afterExpiry);
    const late = await runCli(['verify', docFile, '--key', keyFile]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/BAD.*expired/);
    // Sequoia judges at signing time too. (gpg does not: it reports EXPKEYSIG for both, which is
    // why the README tells gpg users to compare the signature date with the key's expiry.)
    expect((await sqVerify(key.publicKey.armor(), document, afterExpiry)).ok).toBe(false);
  });

  it('refuses a publisher signature dated before the publisher key existed', async () => {
    tocsin = await start();
    const document = documentText(sampleAdvisory({ id: uniqueId('BACKDATED') }));
    const file = path.join(dir, 'backdated.json');
    await writeFile(file, document);
    // gpg signs "in 2020" with a key made today only when told to ignore the time conflict.
    await run('gpg', ['--homedir', publisher.home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--faked-system-time', '20200101T000000!', '--ignore-time-conflict', '--local-user', publisher.fingerprint, '--armor', '--detach-sign', '--output', `${file}.asc`, file]);
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await readFile(`${file}.asc`, 'utf8')] });
    expect(answer.status).toBe(401);
    expect(JSON.stringify(answer.json.error.fields)).toMatch(/newer than the signature/);
    // The same document signed now is accepted: the refusal was about the signing time alone.
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
  });
});
