import { freePort } from '../support/free-port';
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { CLI, runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { gpgVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';
import { wkdHash } from '../../src/pgp/wkd';


describe('the tocsin CLI, as a security team and a partner use it', () => {
  let dir: string;
  const gpgPublisher = useGpgPublisher('gpg-user@example.org');
  let secretKeyFile: string;
  let cliPublicKey: string;
  let partner: Receiver;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-cli-'));
    // A second publisher who signs with `tocsin sign` and an armored secret key file.
    const generated = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'cli-user@example.org' }], format: 'armored' });
    secretKeyFile = path.join(dir, 'secret.asc');
    await writeFile(secretKeyFile, generated.privateKey);
    cliPublicKey = generated.publicKey;
  });
  // Hooks run in the order they are declared: the partner goes before tocsin closes, the directory after.
  afterAll(async () => {
    await partner?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [gpgPublisher.armoredPublicKey, cliPublicKey] }));
  beforeAll(async () => {
    partner = await startReceiver();
    await tocsin.addWebhook(partner.url());
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('signs with `tocsin sign`, publishes with `tocsin publish`, and the partner verifies with `tocsin verify`', async () => {
    const id = uniqueId('CLI');
    const docFile = path.join(dir, `${id}.json`);
    await writeFile(docFile, documentText(sampleAdvisory({ id })));

    const sign = await runCli(['sign', docFile, '--key', secretKeyFile]);
    expect(sign.code).toBe(0);
    const sig = await readFile(`${docFile}.asc`, 'utf8');
    expect(sig).toContain('BEGIN PGP SIGNATURE');

    const published = await runCli(['publish', docFile, '--sig', `${docFile}.asc`, '--url', tocsin.url]);
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({ id, revision: 1, status: 'accepted' });

    await eventually(async () => partner.requests.find((r) => r.body.includes(id)), 15_000, 'webhook');
    const body = partner.requests.find((r) => r.body.includes(id))!.body;
    const bodyFile = path.join(dir, 'webhook-body.json');
    const keyFile = path.join(dir, 'broadcaster.asc');
    await writeFile(bodyFile, body);
    await writeFile(keyFile, (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text);

    const ok = await runCli(['verify', bodyFile, '--key', keyFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(tocsin.api.broadcaster.fingerprint);
    expect(ok.stdout).toContain(`advisory: ${id} revision 1`);

    // The partner's by-hand path: the two fields written to files, checked with gpg.
    const parsed = JSON.parse(body) as { document: string; signature: string; title: string };
    expect((await gpgVerify(await readFile(keyFile, 'utf8'), parsed.document, parsed.signature)).ok).toBe(true);

    // Envelope fields outside `document` are conveniences, not signed: verify reports the signed title.
    const relabelled = path.join(dir, 'relabelled.json');
    await writeFile(relabelled, JSON.stringify({ ...parsed, title: 'All clear, ignore this' }));
    const relabelledResult = await runCli(['verify', relabelled, '--key', keyFile]);
    expect(relabelledResult.code).toBe(0);
    expect(relabelledResult.stdout).toContain('title: Remote code execution in acme-server');
    expect(relabelledResult.stdout).not.toContain('All clear');

    const tampered = path.join(dir, 'tampered.json');
    const forged = { ...parsed, document: parsed.document.replace('Remote code execution', 'Remote code executiom') };
    await writeFile(tampered, JSON.stringify(forged));
    const bad = await runCli(['verify', tampered, '--key', keyFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BAD/);
  });

  it('publishes a stock `gpg --detach-sign --armor` signature the same way', async () => {
    const id = uniqueId('GPG');
    const docFile = path.join(dir, `${id}.json`);
    const text = documentText(sampleAdvisory({ id }));
    await writeFile(docFile, text);
    await writeFile(`${docFile}.asc`, await gpgPublisher.sign(text));
    const published = await runCli(['publish', docFile, '--sig', `${docFile}.asc`, '--url', tocsin.url]);
    expect(published.code).toBe(0);
    // A `tocsin sign` signature verifies under gpg too: the two are interchangeable.
    const signed = await runCli(['sign', docFile, '--key', secretKeyFile]);
    expect(signed.code).toBe(0);
  });

  it('verifies a bare document with its detached signature, and the API form of an advisory', async () => {
    const id = uniqueId('API');
    const text = documentText(sampleAdvisory({ id }));
    const r = await tocsin.call('POST', '/v1/advisories', { document: text, signatures: [await gpgPublisher.sign(text)] });
    expect(r.status).toBe(202);
    const api = await tocsin.call('GET', `/v1/advisories/${id}`);
    const keyFile = path.join(dir, 'broadcaster.asc');
    await writeFile(keyFile, (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text);
    const apiFile = path.join(dir, 'api.json');
    await writeFile(apiFile, api.text);
    expect((await runCli(['verify', apiFile, '--key', keyFile])).code).toBe(0);
    const docFile = path.join(dir, 'bare.json');
    await writeFile(docFile, api.json.document as string);
    await writeFile(`${docFile}.asc`, api.json.broadcaster_signature as string);
    const bare = await runCli(['verify', docFile, '--key', keyFile]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain(`advisory: ${id} revision 1`);

    // The binary key tocsin's own WKD serves (the form `gpg --export` writes) is read as well.
    const wkd = await fetch(new URL(`/.well-known/openpgpkey/hu/${wkdHash('tocsin')}?l=tocsin`, tocsin.url));
    expect(wkd.status).toBe(200);
    const binaryKeyFile = path.join(dir, 'broadcaster.gpg');
    await writeFile(binaryKeyFile, Buffer.from(await wkd.arrayBuffer()));
    const byBinaryKey = await runCli(['verify', apiFile, '--key', binaryKeyFile]);
    expect(byBinaryKey.stderr).toBe('');
    expect(byBinaryKey.code).toBe(0);
    // A key file that holds no key is a usage problem (2), never "bad signature" (1).
    const notAKey = path.join(dir, 'not-a-key.gpg');
    await writeFile(notAKey, Buffer.from('garbage, not a key'));
    const unreadable = await runCli(['verify', apiFile, '--key', notAKey]);
    expect({ code: unreadable.code, stderr: unreadable.stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining('holds no OpenPGP public key') });
    expect((await runCli(['verify', apiFile, '--key', path.join(dir, 'missing.asc')])).code).toBe(2);
  });

  it('rejects a publish the server refuses with a non-zero exit', async () => {
    const docFile = path.join(dir, 'unsigned.json');
    await writeFile(docFile, documentText(sampleAdvisory({ id: uniqueId() })));
    await writeFile(`${docFile}.asc`, 'not a signature');
    const r = await runCli(['publish', docFile, '--sig', `${docFile}.asc`, '--url', tocsin.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('unauthenticated');
  });

  it('`keys init` makes a key pair and a revocation certificate, and will not overwrite without --force', async () => {
    const keysDir = path.join(dir, 'fresh-keys');
    const env = { TOCSIN_KEYS_DIR: keysDir, TOCSIN_KEY_PASSPHRASE: 'correct horse battery staple' };
    const first = await runCli(['keys', 'init'], env);
    expect(first.code).toBe(0);
    const fingerprint = /fingerprint: ([0-9A-F]{40})/.exec(first.stdout)?.[1];
    expect(fingerprint).toBeDefined();
    await access(path.join(keysDir, 'private', 'broadcaster-revocation.asc'));
    const priv = await openpgp.readPrivateKey({ armoredKey: await readFile(path.join(keysDir, 'private', 'broadcaster.key.asc'), 'utf8') });
    expect(priv.isDecrypted()).toBe(false);
    const again = await runCli(['keys', 'init'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--force/);
  });

  it('`start` on a fresh directory needs no configuration and creates a development key, loudly', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'tocsin-fresh-'));
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'start'], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), TOCSIN_HOST: '127.0.0.1', TOCSIN_QUEUE_PREFIX: `fresh-${port}` },
    });
    let logs = '';
    child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 20_000, 'readyz');
      expect(logs).toContain('DEVELOPMENT BROADCASTER KEY');
      await access(path.join(home, 'keys', 'broadcaster.asc'));
      const key = await (await fetch(`http://127.0.0.1:${port}/v1/keys/broadcaster.asc`)).text();
      expect(key).toBe(await readFile(path.join(home, 'keys', 'broadcaster.asc'), 'utf8'));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      await rm(home, { recursive: true, force: true });
    }
  });

  it('exits with one clear line when Redis is unreachable', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'tocsin-noredis-'));
    const r = await runCli(['serve'], { REDIS_URL: 'redis://127.0.0.1:1', PORT: '0' }, home);
    await rm(home, { recursive: true, force: true });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot reach Redis.*docker compose up -d redis.*REDIS_URL/);
  });

  it('refuses bad configuration naming the variable', async () => {
    const r = await runCli(['serve'], { PORT: 'eighty' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT');
  });
});
