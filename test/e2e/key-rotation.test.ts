import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { broadcasterKeyPaths } from '../../src/pgp/broadcaster-key';
import { wkdAddress } from '../../src/pgp/wkd';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { sqVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { gpgGoodCertifiers, gpgShowKeys, gpgVerifyWith, sqInspect } from '../support/gpg-keys';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const keyId = (fingerprint: string) => fingerprint.slice(-16);
const exists = (file: string) => access(file).then(() => true, () => false);

/**
 * A rotation as an operator runs it (`tocsin keys rotate` against a running API) and as a
 * recipient who trusted the old key follows it: with gpg, sq, and `tocsin verify`.
 */
describe('broadcaster key rotation', () => {
  let dir: string;
  const publisher = useGpgPublisher('rotation@example.org');
  let partner: Receiver;
  let cliEnv: Record<string, string>;
  const keys: { a?: string; b?: string; c?: string } = {};
  const fpr: { a?: string; b?: string; c?: string } = {};
  let firstTransition: { text: string; signature: string };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-rotation-'));
  });
  // Hooks run in the order they are declared: the partner goes before tocsin closes, the directory after.
  afterAll(async () => {
    await partner?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey] }));
  beforeAll(async () => {
    partner = await startReceiver();
    await tocsin.addWebhook(partner.url());
    cliEnv = { TOCSIN_KEYS_DIR: path.join(tocsin.root, 'keys'), TOCSIN_PUBLIC_URL: tocsin.url };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function servedKey() {
    const r = await tocsin.call('GET', '/v1/keys/broadcaster.asc');
    return { text: r.text, fingerprint: r.headers.get('x-tocsin-fingerprint') ?? '' };
  }

  /** Publishes a fresh advisory and returns the webhook body the partner received for it. */
  async function publishAndReceive(): Promise<{ raw: string; body: WebhookBody }> {
    const id = uniqueId('ROT');
    const document = documentText(sampleAdvisory({ id }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    await partner.waitFor(partner.requests.length + 1);
    const raw = partner.requests.find((r) => r.body.includes(id))!.body;
    return { raw, body: JSON.parse(raw) as WebhookBody };
  }

  async function tocsinVerify(raw: string, keyArmored: string, ...extra: string[]) {
    const bodyFile = path.join(dir, `body-${uniqueId('v')}.json`);
    const keyFile = path.join(dir, `key-${uniqueId('k')}.asc`);
    await writeFile(bodyFile, raw);
    await writeFile(keyFile, keyArmored);
    return runCli(['verify', bodyFile, '--key', keyFile, ...extra]);
  }

  it('rotates under a running API: the old key certifies the new one, both sign the statement and, during the overlap, every notice', async () => {
    const before = await servedKey();
    keys.a = before.text;
    fpr.a = before.fingerprint;

    const rotated = await runCli(['keys', 'rotate', '--overlap-days', '30'], cliEnv);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`old key:     ${fpr.a}`);

    // No restart: the next request already serves the new key.
    const after = await servedKey();
    keys.b = after.text;
    fpr.b = after.fingerprint;
    expect(fpr.b).toMatch(/^[0-9A-F]{40}$/);
    expect(fpr.b).not.toBe(fpr.a);
    expect(rotated.stdout).toContain(`new key:     ${fpr.b}`);

    // gpg verifies the old key's certification of the new key's user id (sig! by A's key id)...
    expect(await gpgGoodCertifiers([keys.a, keys.b], fpr.b)).toContain(keyId(fpr.a));
    // ...and only because it holds A: without it, the certification cannot check out.
    expect(await gpgGoodCertifiers([keys.b], fpr.b)).not.toContain(keyId(fpr.a));
    // Sequoia reads the same certification from the served key.
    expect(await sqInspect(keys.b, '--certifications')).toContain(`Alleged certifier: ${fpr.a}`);

    // The transition statement, served and signed by both keys.
    const statement = await tocsin.call('GET', '/v1/keys/transition.json');
    const signature = await tocsin.call('GET', '/v1/keys/transition.json.asc');
    expect(statement.status).toBe(200);
    expect(signature.status).toBe(200);
    expect(statement.json).toMatchObject({ type: 'tocsin-key-transition', old_fingerprint: fpr.a, new_fingerprint: fpr.b });
    firstTransition = { text: statement.text, signature: signature.text };
    expect((await sqVerify(keys.a, statement.text, signature.text)).ok).toBe(true);
    expect((await sqVerify(keys.b, statement.text, signature.text)).ok).toBe(true);
    const withBoth = await gpgVerifyWith([keys.a, keys.b], statement.text, signature.text);
    expect(withBoth.code).toBe(0);
    expect(withBoth.valid.sort()).toEqual([fpr.a, fpr.b].sort());
    // gpg with the old key alone: a good signature by it, and exit 2 for the packet it cannot check.
    const withOld = await gpgVerifyWith([keys.a], statement.text, signature.text);
    expect(withOld.valid).toEqual([fpr.a]);
    expect(withOld.missing).toEqual([keyId(fpr.b)]);

    // A notice during the overlap: one signature block, a packet from each key.
    const { raw, body } = await publishAndReceive();
    expect(body.signer_fingerprint).toBe(fpr.b);
    expect(body.signer_fingerprints).toEqual([fpr.b, fpr.a]);
    expect(body.key_transition).toEqual({ url: `${tocsin.config.publicUrl}/v1/keys/transition.json`, statement: statement.text, signature: signature.text });
    expect((await sqVerify(keys.a, body.document, body.signature)).ok).toBe(true);
    expect((await sqVerify(keys.b, body.document, body.signature)).ok).toBe(true);
    const notice = await gpgVerifyWith([keys.a, keys.b], body.document, body.signature);
    expect(notice.code).toBe(0);
    expect(notice.valid.sort()).toEqual([fpr.a, fpr.b].sort());

    const verified = await tocsinVerify(raw, keys.a);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`signer: ${fpr.a}`);
    expect(verified.stdout).toContain(`signer: ${fpr.b}`);
    expect(verified.stdout).toContain(`key change: ${fpr.a} -> ${fpr.b}`);

    const ready = await tocsin.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    // The old key signs until the overlap ends, so its private key is still there.
    expect(await exists(broadcasterKeyPaths(cliEnv.TOCSIN_KEYS_DIR!).previousPrivateKey)).toBe(true);
  });

  it('refuses a second rotation while the overlap runs, unless forced', async () => {
    const refused = await runCli(['keys', 'rotate'], cliEnv);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/overlap runs until/);
    expect((await servedKey()).fingerprint).toBe(fpr.b);
  });

  it('after the overlap only the new key signs; a recipient of the old key follows the statements', async () => {
    const rotated = await runCli(['keys', 'rotate', '--force', '--overlap-days', '0'], cliEnv);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`dropped:     ${fpr.a}`);
    const served = await servedKey();
    keys.c = served.text;
    fpr.c = served.fingerprint;
    expect(await gpgGoodCertifiers([keys.b!, keys.c], fpr.c)).toContain(keyId(fpr.b!));

    const { raw, body } = await publishAndReceive();
    expect(body.signer_fingerprints).toEqual([fpr.c]);
    // B's overlap is over: the running API deleted its private key when it signed, no restart
    // needed, and keeps its public key for verify pages and the key history.
    const keyPaths = broadcasterKeyPaths(cliEnv.TOCSIN_KEYS_DIR!);
    expect(await exists(keyPaths.previousPrivateKey)).toBe(false);
    expect(await exists(keyPaths.previousPublicKey)).toBe(true);
    expect(JSON.parse(body.key_transition!.statement)).toMatchObject({ old_fingerprint: fpr.b, new_fingerprint: fpr.c });
    // The old keys alone no longer verify a notice, with either tool...
    expect((await sqVerify(keys.a!, body.document, body.signature)).ok).toBe(false);
    expect((await gpgVerifyWith([keys.a!, keys.b!], body.document, body.signature)).valid).toEqual([]);
    expect((await sqVerify(keys.c, body.document, body.signature)).ok).toBe(true);
    expect((await gpgVerifyWith([keys.c], body.document, body.signature)).valid).toEqual([fpr.c]);

    // ...nor with tocsin verify: the statement the body carries starts at B, which A's holder does not trust.
    const bad = await tocsinVerify(raw, keys.a!);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^BAD/);
    // Given the first statement (A to B), the chain A -> B -> C holds.
    const t1 = path.join(dir, 'transition-a-b.json');
    await writeFile(t1, firstTransition.text);
    await writeFile(`${t1}.asc`, firstTransition.signature);
    const followed = await tocsinVerify(raw, keys.a!, '--transition', t1);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain(`signer: ${fpr.c}`);
    expect(followed.stdout).toContain(`key change: ${fpr.b} -> ${fpr.c}`);
    // A holder of B needs nothing more than the body.
    expect((await tocsinVerify(raw, keys.b!)).code).toBe(0);

    // WKD serves the current key only (no revoked keys yet).
    const wkd = await fetch(`${tocsin.url}/.well-known/openpgpkey/hu/${wkdAddress(tocsin.config.keyEmail).hash}`);
    expect((await gpgShowKeys(Buffer.from(await wkd.arrayBuffer()))).map((k) => k.fingerprint)).toEqual([fpr.c]);
  });
});
