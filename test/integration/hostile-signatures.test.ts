import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { fuzz } from '../support/fuzz';
import { runTool, type GpgPublisher } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { DEEP, fieldsOf, oddSegment, randomBody, withInvalidUtf8 } from '../support/hostile-inputs';
import { send, startHostileRig, type Answer, type HostileRig } from '../support/hostile-rig';

/**
 * Hostile input to `POST /v1/advisories/:id/signatures` under the two-person rule
 * (TOCSIN_REQUIRE_SIGNATURES=critical:2): a critical advisory signed by one enrolled publisher is
 * held, and a second enrolled publisher (bob) could release it. Every hostile request is refused
 * with a 4xx naming the field; afterwards the hold still counts only the first publisher, its
 * files are byte for byte the same, and nothing was archived, queued or broadcast. Many requests
 * carry bob's real signature over the held document, so that ignoring their flaw would release it.
 */
describe('hostile input to POST /v1/advisories/:id/signatures', () => {
  let rig: HostileRig;
  const mallory = useGpgPublisher('mallory@example.org');
  let bob: GpgPublisher;
  let id: string;
  let document: string;
  let bobsSignature: string;

  beforeAll(async () => {
    rig = await startHostileRig({ TOCSIN_REQUIRE_SIGNATURES: 'critical:2' }, { cosigners: ['bob@example.org'] });
    bob = rig.cosigners[0]!;
    id = uniqueId('HELD');
    document = documentText(sampleAdvisory({ id }));
    const held = await rig.tocsin.call('POST', '/v1/advisories', { document, signatures: [await rig.publisher.sign(document)] });
    if (held.status !== 202 || held.json.status !== 'awaiting_signatures') throw new Error(`the advisory was not held: ${held.status} ${held.text}`);
    bobsSignature = await bob.sign(document);
    await rig.rebaseline();
  });
  afterAll(async () => {
    await rig?.close();
  });

  const JSON_TYPE = { 'content-type': 'application/json' };
  const url = (p: string) => `${rig.tocsin.url}${p}`;
  const sign = (body: Buffer | string, target = id, query = '') => send(url(`/v1/advisories/${target}/signatures${query}`), 'POST', body, JSON_TYPE);
  const signatures = (...list: string[]) => JSON.stringify({ signatures: list });

  /** Refused, nothing changed, and the hold still counts only the first publisher. */
  async function expectHarmless(answer: Answer, what: string, statuses?: readonly number[]) {
    rig.refused(answer, what, statuses);
    await rig.unchanged(what);
    await expectStillHeld(what);
  }

  async function expectStillHeld(what: string) {
    const hold = await rig.tocsin.admin('GET', `/v1/advisories/${id}`);
    expect({ what, hold: hold.json }).toEqual({ what, hold: expect.objectContaining({ status: 'awaiting_signatures', missing: 1, publishers: [rig.publisher.fingerprint] }) });
  }

  it('refuses random bytes, JSON-ish soup and random JSON values', async () => {
    await fuzz('signatures: random bodies', 150, async (rng, i) => {
      await expectHarmless(await sign(randomBody(rng, i, ['signatures', 'document', 'revision'])), `random body ${i}`);
    });
  });

  it("refuses bob's signature truncated at every cut point of the body, and cut short inside a whole body", async () => {
    const whole = Buffer.from(signatures(bobsSignature));
    for (let cut = 0; cut < whole.length; cut++) {
      await expectHarmless(await sign(whole.subarray(0, cut)), `body cut at byte ${cut} of ${whole.length}`, [400]);
    }
    await fuzz('signatures: truncated signatures', 30, async (rng) => {
      const cut = rng.int(0, bobsSignature.indexOf('-----END') - 1);
      await expectHarmless(await sign(signatures(bobsSignature.slice(0, cut))), `signature cut at ${cut}`, [400, 401]);
    });
  });

  it('refuses a wrong type, a wrong count or an unknown field, naming it', async () => {
    for (const [value, field] of [[0, 'signatures'], [true, 'signatures'], [null, 'signatures'], [{}, 'signatures'], [bobsSignature, 'signatures'], [[], 'signatures'], [[0], 'signatures.0'], [[null], 'signatures.0'], [[{}], 'signatures.0'], [[''], 'signatures.0'], [[[bobsSignature]], 'signatures.0']] as const) {
      const answer = await sign(JSON.stringify({ signatures: value }));
      await expectHarmless(answer, `signatures ${JSON.stringify(value).slice(0, 60)}`, [400]);
      expect(fieldsOf(answer)).toEqual([field]);
    }
    const many = await sign(signatures(...Array.from({ length: 17 }, () => bobsSignature)));
    await expectHarmless(many, "17 copies of bob's signature", [400]);
    expect(fieldsOf(many)).toEqual(['signatures']);
    const big = await sign(signatures(`${bobsSignature}${' '.repeat(64 * 1024)}`));
    await expectHarmless(big, 'a signature over 64 KiB', [400]);
    expect(fieldsOf(big)).toEqual(['signatures.0']);
    for (const [extra, value] of [['document', document], ['revision', 1], ['publishers', [bob.fingerprint]], ['__proto__', { signatures: [] }]] as const) {
      const answer = await sign(`${signatures(bobsSignature).slice(0, -1)},${JSON.stringify(extra)}:${JSON.stringify(value)}}`);
      await expectHarmless(answer, `body with ${extra}`, [400]);
      expect(fieldsOf(answer)).toEqual([extra]);
    }
    await expectHarmless(await sign('{}'), 'no signatures', [400]);
  });

  it('refuses deeply nested and non-UTF-8 bodies', async () => {
    await expectHarmless(await sign(DEEP.arrays), 'body of 100,000 nested arrays', [400]);
    await expectHarmless(await sign(DEEP.objects), 'body of 100,000 nested objects', [400]);
    await expectHarmless(await sign(`{"signatures":${DEEP.arrays}}`), 'signatures of 100,000 nested arrays', [400]);
    await fuzz('signatures: invalid UTF-8', 40, async (rng, i) => {
      const { body, what } = withInvalidUtf8(rng, Buffer.from(signatures(bobsSignature)));
      await expectHarmless(await sign(body), `${what} (case ${i})`, [400]);
    });
  });

  it('counts no signature over other bytes, by an unenrolled key, or that is not a signature', async () => {
    const other = documentText(sampleAdvisory({ id, title: 'Not what alice signed' }));
    const revision2 = documentText(sampleAdvisory({ id, revision: 2 }));
    const [bobOther, bobRevision2, bobNoNewline, malloryHeld, aliceOther] = await Promise.all([
      bob.sign(other),
      bob.sign(revision2),
      bob.sign(document.slice(0, -1)),
      mallory.sign(document),
      rig.publisher.sign(other),
    ]);
    const cases: [string, string[]][] = [
      ['bob, over a different document', [bobOther]],
      ['bob, over the next revision', [bobRevision2]],
      ['bob, over the document without its last newline', [bobNoNewline]],
      ['an unenrolled key, over the held document', [malloryHeld]],
      ['alice, over a different document', [aliceOther]],
      ['an unenrolled key and bob over another document', [malloryHeld, bobOther]],
      ["bob's public key", [bob.armoredPublicKey]],
      ['the held document itself', [document]],
      ["bob's signature with its armor header renamed", [bobsSignature.replace('PGP SIGNATURE', 'PGP MESSAGE')]],
      ["bob's signature with its body reversed", [bobsSignature.split('\n').map((l) => (l.startsWith('-----') ? l : [...l].reverse().join(''))).join('\n')]],
    ];
    for (const [what, list] of cases) {
      const answer = await sign(signatures(...list));
      await expectHarmless(answer, what, [401]);
      expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: expect.arrayContaining([expect.stringMatching(/^signatures/)]) });
    }
    // The publisher already counted, signing again: still one publisher, and not a byte changed.
    const again = await sign(signatures(await rig.publisher.sign(document)));
    expect(again.status).toBe(202);
    await rig.unchanged("alice's second signature");
    await expectStillHeld("alice's second signature");
  });

  it("refuses bob's text-mode signature and a block of copies of his real one with 400 naming it, before verifying", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'textmode-'));
    try {
      await writeFile(path.join(dir, 'doc'), document);
      const r = await runTool('gpg', ['--homedir', bob.home, '--batch', '--textmode', '--armor', '--detach-sign', '--local-user', bob.fingerprint, '--output', path.join(dir, 'doc.asc'), path.join(dir, 'doc')]);
      if (r.code !== 0) throw new Error(r.stderr);
      const textMode = await sign(signatures(await readFile(path.join(dir, 'doc.asc'), 'utf8')));
      await expectHarmless(textMode, "bob's text-mode signature", [400]);
      expect(fieldsOf(textMode)).toEqual(['signatures[0]']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const packet = (await openpgp.readSignature({ armoredSignature: bobsSignature })).write() as Uint8Array;
    const flood = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(Array.from({ length: 300 }, () => packet)));
    const answer = await sign(signatures(bobsSignature, flood));
    await expectHarmless(answer, "bob's signature and 300 copies of it", [400]);
    expect(JSON.parse(answer.body).error.fields).toEqual([{ field: 'signatures[1]', message: expect.stringMatching(/^holds 300 packets: /) }]);
  });

  it("refuses bob's real signature sent with an odd id or revision, naming the revision", async () => {
    const body = signatures(bobsSignature);
    const odd = ['0', '-1', '1.5', '1e0', '0x1', '01', '+1', '%201', '1%20', '1e999', 'NaN', 'Infinity', '', '1&revision=1', '1&revision=2', `${'9'.repeat(400)}`, '%EF%BC%91'];
    for (const revision of odd) {
      const answer = await sign(body, id, `?revision=${revision}`);
      await expectHarmless(answer, `revision=${revision}`, [400]);
      expect({ revision, fields: fieldsOf(answer) }).toEqual({ revision, fields: ['revision'] });
    }
    // Bob's signature verifies over nothing there: the same 401 as for an id that is not held.
    for (const revision of ['2', '1000000']) await expectHarmless(await sign(body, id, `?revision=${revision}`), `revision=${revision}`, [401]);
    await fuzz('signatures: odd ids', 150, async (rng, i) => {
      const target = rng.bool(0.3) ? `${id}${rng.pick(['%00', '%20', '%0a', '.', '..', '%2F', '%2f..', '~', '*', '%2A'])}` : oddSegment(rng);
      // `%2e%2e` is a dot segment that the client resolves, leaving a route that does not exist.
      await expectHarmless(await sign(body, target), `id ${target.slice(0, 100)} (case ${i})`, [400, 401, 404]);
    });
    for (const [target, what] of [[id.toLowerCase(), 'the id in lower case'], [`${id}-`, 'the id and a dash']] as const) {
      await expectHarmless(await sign(body, target), what, [401]);
    }
  });

  // Last: bob's real signature, sent plainly, releases the advisory, and the rig notices.
  it("releases the advisory for bob's real signature, and the rig notices", async () => {
    const answer = await sign(signatures(bobsSignature));
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({ id, status: 'accepted' });
    await rig.receiver.waitFor(1);
    await expect(rig.unchanged('after the second signature')).rejects.toThrow(/changed|broadcast/);
  });
});
