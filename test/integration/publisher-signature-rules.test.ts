import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_PACKETS_PER_BLOCK } from '../../src/pgp/detached';
import { MAX_SIGNATURES } from '../../src/publish/signature-policy';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { createGpgPublisher, runTool } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { withShadowSubkey } from '../support/shadow-key';
import { useTocsin } from '../support/use-tocsin';

/** gpg's `--faked-system-time` form of a moment `ms` from now. */
const gpgTime = (ms: number) => `${new Date(Date.now() + ms).toISOString().slice(0, 19).replace(/[-:]/g, '')}!`;

/**
 * What a publisher's signature must be, through the running API: binary mode, a handful of
 * packets, dated no further ahead than the allowed clock skew; and a key that shares a key id
 * with an enrolled publisher cannot be enrolled.
 */
describe('publisher signatures through the API', () => {
  const alice = useGpgPublisher('alice@example.org');
  const tocsin = useTocsin(() => ({ workers: false, publishers: [alice.armoredPublicKey] }));
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sigrules-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** alice's gpg signing `text` with extra options, as a publisher would at the command line. */
  async function gpgSign(text: string, ...options: string[]): Promise<string> {
    const file = path.join(work, `${uniqueId('doc')}.json`);
    await writeFile(file, text);
    const r = await runTool('gpg', ['--homedir', alice.home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...options, '--local-user', alice.fingerprint, '--armor', '--detach-sign', '--output', `${file}.asc`, file]);
    if (r.code !== 0) throw new Error(`gpg failed: ${r.stderr}`);
    return readFile(`${file}.asc`, 'utf8');
  }
  const submit = (document: string, signatures: string[]) => tocsin.call('POST', '/v1/advisories', { document, signatures });
  const newDocument = () => documentText(sampleAdvisory({ id: uniqueId('SIG') }));

  it("refuses a text-mode signature with 400 naming it, over the signed bytes and over their CRLF variant; gpg's default is binary", async () => {
    const document = newDocument();
    const text = await gpgSign(document, '--textmode');
    for (const bytes of [document, document.replace(/\n/g, '\r\n')]) {
      const answer = await submit(bytes, [text]);
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({
        code: 'invalid_submission',
        fields: [{ field: 'signatures[0]', message: 'is a text-mode (0x01) signature: sign in binary mode (gpg --detach-sign, not --textmode or --clearsign)' }],
      });
    }
    // `gpg --detach-sign --armor` without --textmode signs in binary mode (sigclass 0x00), and counts.
    const binary = await alice.sign(document);
    const listed = path.join(work, 'binary.asc');
    await writeFile(listed, binary);
    expect((await runTool('gpg', ['--homedir', alice.home, '--list-packets', listed])).stdout).toMatch(/sigclass 0x00/);
    expect((await submit(document, [binary])).status).toBe(202);
  });

  it(`refuses ${MAX_SIGNATURES} blocks of hundreds of copies of a real signature with 400 naming each, before verifying any`, async () => {
    const document = newDocument();
    const real = Buffer.from((await alice.sign(document)).split('\n\n')[1]!.split('\n=')[0]!.replace(/\n/g, ''), 'base64');
    // As many copies as let 16 armored blocks fit in the 1 MiB body: 42 KiB of packets each.
    const copies = Math.floor((42 * 1024) / real.length);
    const block = `-----BEGIN PGP SIGNATURE-----\n\n${Buffer.concat(Array.from({ length: copies }, () => real)).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PGP SIGNATURE-----\n`;
    const answer = await submit(document, Array.from({ length: MAX_SIGNATURES }, () => block));
    expect(answer.status).toBe(400);
    // These are the form check's words: it stops the submission before any signature is verified.
    expect(answer.json.error.fields).toEqual(
      Array.from({ length: MAX_SIGNATURES }, (_, i) => ({ field: `signatures[${i}]`, message: `holds ${copies} packets: a signature block may hold at most ${MAX_PACKETS_PER_BLOCK} (one per signing key)` })),
    );
    expect((await tocsin.call('GET', `/v1/advisories/${JSON.parse(document).id as string}`)).status).toBe(404);
  });

  it('accepts a signature dated 4 minutes ahead (a fast clock), and refuses one 6 minutes ahead, saying why', async () => {
    const ahead = newDocument();
    expect((await submit(ahead, [await gpgSign(ahead, '--faked-system-time', gpgTime(4 * 60_000))])).status).toBe(202);
    const tooFar = newDocument();
    const answer = await submit(tooFar, [await gpgSign(tooFar, '--faked-system-time', gpgTime(6 * 60_000))]);
    expect(answer.status).toBe(401);
    expect(answer.json.error.fields).toEqual([{ field: 'signatures[0]', message: expect.stringMatching(/^is dated \S+, more than 300 s after tocsin's clock \(\S+\): check the signing machine's clock and sign again$/) }]);
  });

  it("refuses to enrol a key that carries an enrolled publisher's key as a subkey", async () => {
    const mallory = await createGpgPublisher('mallory@example.org');
    try {
      const shadow = await withShadowSubkey(mallory.armoredPublicKey, alice.armoredPublicKey);
      const answer = await tocsin.call('POST', '/v1/publishers', { key: shadow }, { authorization: `Bearer ${tocsin.config.adminToken}`, 'x-tocsin-actor': 'alice' });
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({
        code: 'invalid_key',
        fields: [{ field: 'key', message: `shares the key id ${alice.fingerprint.slice(-16)} with enrolled publisher ${alice.fingerprint}: a key id may belong to one publisher only` }],
      });
      // Without the copied subkey, the same publisher enrols.
      const plain = await tocsin.call('POST', '/v1/publishers', { key: mallory.armoredPublicKey }, { authorization: `Bearer ${tocsin.config.adminToken}`, 'x-tocsin-actor': 'alice' });
      expect(plain.status).toBe(201);
    } finally {
      await mallory.dispose();
    }
  });
});
