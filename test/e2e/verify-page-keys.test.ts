import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import type { Browser } from 'playwright-core';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { spacedFingerprint } from '../../src/notices/notice-view';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { runTool } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { gpgShowKeys, gpgVerifyWith } from '../support/gpg-keys';
import { useTocsin } from '../support/use-tocsin';
import { launchChromium, oneCharChanged, openVerifyPage, verdictFor, type PageWatch } from '../support/verify-page-browser';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const fingerprintIn = (stdout: string) => /fingerprint: ([0-9A-F]{40})/.exec(stdout)?.[1] ?? '';
const noMillis = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

/**
 * verify.html after the broadcaster key changed, as an operator changes it with the CLI
 * (`keys init`, `keys rotate`, `keys revoke`, `keys init --force`) and as `tocsin mirror build`
 * then builds the site: notices signed before the change stay checkable, and the page says which
 * key made each signature.
 */
describe('verify.html across key changes', () => {
  let dir: string;
  let keysDir: string;
  const publisher = useGpgPublisher('keys-page@example.org');
  let partner: Receiver;
  let browser: Browser;
  let env: Record<string, string>;
  const fpr = { a: '', b: '', c: '' };
  const bodies: Record<'a' | 'b' | 'c', WebhookBody | null> = { a: null, b: null, c: null };
  let retiredAt = '';
  let retiredPrivateKey = '';
  const watch: PageWatch = { offSite: [], errors: [] };

  /** Publishes a fresh advisory through the API and returns the webhook body the partner got. */
  async function publishAndReceive(): Promise<WebhookBody> {
    const id = uniqueId('KEYS');
    const document = documentText(sampleAdvisory({ id, title: `Key history check ${id}` }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    await partner.waitFor(partner.requests.length + 1);
    return JSON.parse(partner.requests.find((r) => r.body.includes(id))!.body) as WebhookBody;
  }

  async function buildSite(name: string): Promise<string> {
    const out = path.join(dir, name);
    const build = await runCli(['mirror', 'build', '--out', out], env);
    expect(build.stderr).toBe('');
    expect(build.code).toBe(0);
    return out;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'verify-keys-'));
    keysDir = path.join(dir, 'keys');
    const init = await runCli(['keys', 'init'], { TOCSIN_KEYS_DIR: keysDir });
    expect(init.code).toBe(0);
    fpr.a = fingerprintIn(init.stdout);
    await mkdir(path.join(keysDir, 'publishers'));
    await writeFile(path.join(keysDir, 'publishers', 'publisher.asc'), publisher.armoredPublicKey);
  });
  // Hooks run in the order they are declared: the browser and the partner go before tocsin closes.
  afterAll(async () => {
    await browser?.close();
    await partner?.close();
  });
  // The API uses the key `keys init` made; the mirror is built by the CLI only.
  const tocsin = useTocsin(() => ({ env: { TOCSIN_KEYS_DIR: keysDir, TOCSIN_MIRROR_AUTO: '0' } }));
  beforeAll(async () => {
    expect(tocsin.api.broadcaster.fingerprint).toBe(fpr.a);
    partner = await startReceiver();
    await tocsin.addWebhook(partner.url());
    env = { TOCSIN_DATA_DIR: tocsin.config.dataDir, TOCSIN_KEYS_DIR: keysDir, TOCSIN_PUBLIC_URL: tocsin.url };
    browser = await launchChromium();
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    // No request left file://, and nothing went wrong in the page (its CSP included).
    const [requests, errors] = [watch.offSite.splice(0), watch.errors.splice(0)];
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('after a rotation: an old notice is valid by the previous key, a new one by the current key, a changed one invalid', async () => {
    bodies.a = await publishAndReceive();
    expect(bodies.a.signer_fingerprints).toEqual([fpr.a]);
    const rotated = await runCli(['keys', 'rotate', '--overlap-days', '0'], env);
    expect(rotated.code).toBe(0);
    const transition = JSON.parse(await readFile(path.join(keysDir, 'transition.json'), 'utf8')) as { new_fingerprint: string; overlap_until: string };
    fpr.b = transition.new_fingerprint;
    retiredAt = noMillis(transition.overlap_until);
    // Tocsin deletes a retired private key once its overlap is over (at the next signing): keep
    // a copy now, as a thief would have, for the late-signature test below.
    retiredPrivateKey = await readFile(path.join(keysDir, 'private', 'previous.key.asc'), 'utf8');
    bodies.b = await publishAndReceive();
    expect(bodies.b.signer_fingerprints).toEqual([fpr.b]);

    const site = await buildSite('site-rotated');
    const page = await openVerifyPage(browser, site, watch);
    const old = await verdictFor(page, JSON.stringify(bodies.a));
    expect(old.verdict).toBe('valid');
    expect(old.headline).toBe(`VALID — signed by the previous broadcaster key ${fpr.a} (retired on ${retiredAt}; the current key ${fpr.b} is certified by it)`);
    expect(old.signed).toBe(bodies.a.document);
    const fresh = await verdictFor(page, JSON.stringify(bodies.b));
    expect(fresh.verdict).toBe('valid');
    expect(fresh.headline).toBe(`VALID — signed by the current broadcaster key ${fpr.b}`);
    for (const body of [bodies.a, bodies.b]) {
      const forged = await verdictFor(page, JSON.stringify({ ...body, document: oneCharChanged(body.document, 'Key history check') }));
      expect(forged.verdict).toBe('invalid');
      expect(forged.headline).toMatch(/^INVALID/);
      expect(forged.signed).toBe('');
    }

    // The same old document as the mirror serves it, with its .asc: valid, by the previous key.
    const id = (JSON.parse(bodies.a.document) as { id: string }).id;
    const doc = path.join(site, 'advisories', id, '1', `${id}.json`);
    const [docText, docSig] = await Promise.all([readFile(doc, 'utf8'), readFile(`${doc}.asc`, 'utf8')]);
    expect((await verdictFor(page, docText, docSig)).headline).toContain(`signed by the previous broadcaster key ${fpr.a}`);
    await page.context().close();
  });

  it('refuses a signature the previous key made after it was retired', async () => {
    // Seconds are all a signature's date holds: be sure this one falls after the retirement.
    await eventually(async () => Date.now() >= Date.parse(retiredAt) + 1000, 5_000, 'a second past the retirement');
    const oldKey = await openpgp.readPrivateKey({ armoredKey: retiredPrivateKey });
    expect(oldKey.getFingerprint().toUpperCase()).toBe(fpr.a);
    const document = bodies.a!.document;
    const lateSignature = await openpgp.sign({ message: await openpgp.createMessage({ binary: Buffer.from(document) }), signingKeys: oldKey, detached: true });

    const page = await openVerifyPage(browser, path.join(dir, 'site-rotated'), watch);
    const late = await verdictFor(page, document, lateSignature as string);
    expect(late.verdict).toBe('invalid');
    expect(late.details).toContain(`signed by the previous broadcaster key ${fpr.a} after it was retired on ${retiredAt}`);
    await page.context().close();
  });

  it('index.html names both keys, serves the previous one, and its gpg and sq commands verify the old notice', async () => {
    const site = path.join(dir, 'site-rotated');
    const index = await readFile(path.join(site, 'index.html'), 'utf8');
    expect(index).toContain(spacedFingerprint(fpr.b));
    expect(index).toContain(spacedFingerprint(fpr.a));
    expect(index).toContain(`retired on ${retiredAt}: it certified the current key.`);
    expect(index).toContain(`gpg --import broadcaster.asc keys/${fpr.a}.asc`);
    const [current, previous] = await Promise.all([readFile(path.join(site, 'broadcaster.asc'), 'utf8'), readFile(path.join(site, 'keys', `${fpr.a}.asc`), 'utf8')]);
    expect((await gpgShowKeys(previous)).map((k) => k.fingerprint)).toEqual([fpr.a]);
    // What the page tells a reader to do, done: both keys imported, each notice verifies by its own key.
    expect((await gpgVerifyWith([current, previous], bodies.a!.document, bodies.a!.signature)).valid).toEqual([fpr.a]);
    expect((await gpgVerifyWith([current, previous], bodies.b!.document, bodies.b!.signature)).valid).toEqual([fpr.b]);
    // And its Sequoia command, as printed (paths made absolute): it accepts the old document too.
    const id = (JSON.parse(bodies.a!.document) as { id: string }).id;
    expect(index).toContain(`sq verify --signer-cert broadcaster.asc --signer-cert keys/${fpr.a}.asc --detached`);
    const doc = path.join(site, 'advisories', id, '1', `${id}.json`);
    const sq = await runTool('sq', ['verify', '--signer-cert', path.join(site, 'broadcaster.asc'), '--signer-cert', path.join(site, 'keys', `${fpr.a}.asc`), '--detached', `${doc}.asc`, doc], { ...process.env, HOME: dir });
    expect(sq.code).toBe(0);
  });

  it('after a revocation: a notice by the revoked key is not presented as valid, and says why', async () => {
    expect((await runCli(['keys', 'revoke'], env)).code).toBe(0);
    const fresh = await runCli(['keys', 'init', '--force'], env);
    expect(fresh.code).toBe(0);
    fpr.c = fingerprintIn(fresh.stdout);
    bodies.c = await publishAndReceive();
    expect(bodies.c.signer_fingerprints).toEqual([fpr.c]);

    const site = await buildSite('site-revoked');
    const page = await openVerifyPage(browser, site, watch);
    const revoked = await verdictFor(page, JSON.stringify(bodies.b));
    expect(revoked.verdict).toBe('revoked');
    expect(revoked.headline).toMatch(new RegExp(`^NOT VALID — signed by the REVOKED broadcaster key ${fpr.b} \\(revoked on \\S+Z: no reason given\\)$`));
    expect(revoked.details).toContain('do not trust this notice');
    expect(revoked.signed).toBe('');
    // A changed text is still plainly invalid, whoever's key.
    expect((await verdictFor(page, JSON.stringify({ ...bodies.b, document: oneCharChanged(bodies.b!.document, 'Key history check') }))).verdict).toBe('invalid');

    // The key before it is still the installation's: valid, but no longer linked to the current key.
    const older = await verdictFor(page, JSON.stringify(bodies.a));
    expect(older.verdict).toBe('valid');
    expect(older.headline).toBe(
      `VALID — signed by the previous broadcaster key ${fpr.a} (retired on ${retiredAt}; it certified ${fpr.b}, but no unbroken line of rotations leads from it to the current key ${fpr.c})`,
    );
    expect((await verdictFor(page, JSON.stringify(bodies.c))).headline).toBe(`VALID — signed by the current broadcaster key ${fpr.c}`);
    await page.context().close();

    const index = await readFile(path.join(site, 'index.html'), 'utf8');
    expect(index).toContain(spacedFingerprint(fpr.c));
    expect(index).toMatch(new RegExp(`<b>REVOKED</b> key <span class="fpr">${spacedFingerprint(fpr.b)}</span>`));
    expect((await gpgShowKeys(await readFile(path.join(site, 'keys', `${fpr.b}.asc`), 'utf8')))[0]).toMatchObject({ fingerprint: fpr.b, validity: 'r' });
  });

  it('a key revoked as superseded: still not valid, but its older signatures are called probably genuine', async () => {
    // A revocation certificate with a reason, as `gpg --gen-revoke` makes one: one signature packet.
    const key = await openpgp.readPrivateKey({ armoredKey: await readFile(path.join(keysDir, 'private', 'broadcaster.key.asc'), 'utf8') });
    expect(key.getFingerprint().toUpperCase()).toBe(fpr.c);
    const { publicKey: revokedKey } = await openpgp.revokeKey({
      key,
      reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keySuperseded, string: 'moved to a hardware token' },
      format: 'object',
    });
    const packets = new openpgp.PacketList<openpgp.SignaturePacket>();
    packets.push(revokedKey.revocationSignatures[0]!);
    const certificate = path.join(dir, 'superseded-revocation.asc');
    await writeFile(certificate, openpgp.armor(openpgp.enums.armor.publicKey, packets.write()));
    const revoke = await runCli(['keys', 'revoke', '--cert', certificate], env);
    expect(revoke.stderr).toBe('');
    expect(revoke.code).toBe(0);
    // A mirror build needs a key that can sign.
    expect((await runCli(['keys', 'init', '--force'], env)).code).toBe(0);

    const page = await openVerifyPage(browser, await buildSite('site-superseded'), watch);
    const superseded = await verdictFor(page, JSON.stringify(bodies.c));
    expect(superseded.verdict).toBe('revoked');
    expect(superseded.headline).toMatch(new RegExp(`^NOT VALID — signed by the REVOKED broadcaster key ${fpr.c} \\(revoked on \\S+Z: superseded by another key: moved to a hardware token\\)$`));
    expect(superseded.details).toContain('probably genuine when sent');
    expect(superseded.signed).toBe('');
    // The hard revocation before it is unchanged.
    expect((await verdictFor(page, JSON.stringify(bodies.b))).details).toContain('do not trust this notice');
    await page.context().close();
  });
});
