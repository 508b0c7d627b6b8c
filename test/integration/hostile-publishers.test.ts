import { BODY_LIMIT_BYTES } from '../../src/http/json-body';
import { fuzz } from '../support/fuzz';
import { createGpgPublisher, runTool, type GpgPublisher } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { withGpgHome } from '../support/gpg-keys';
import { codeOf, DEEP, fieldsOf, randomBody, withInvalidUtf8 } from '../support/hostile-inputs';
import { send, startHostileRig, type Answer, type HostileRig } from '../support/hostile-rig';
import { rawExchange, rawRequest } from '../support/raw-http';
import { ADMIN_TOKEN } from '../support/tocsin-harness';

/**
 * Hostile input to the publishers admin API of a real tocsin: every answer is a 4xx in the one
 * error shape naming the field, and afterwards no publisher was enrolled or removed, no key file
 * appeared or vanished and the audit log gained no line (its bytes are compared). Each request
 * would be accepted were its one flaw ignored: it carries a valid, not yet enrolled key, or names
 * the enrolled publisher for removal.
 */
describe('hostile input to the publishers admin API', () => {
  let rig: HostileRig;
  const newcomer = useGpgPublisher('newcomer@example.org');
  const ADMIN = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    rig = await startHostileRig();
  });
  afterAll(async () => {
    await rig?.close();
  });

  const url = (p: string) => `${rig.tocsin.url}${p}`;
  const enrol = (body: Buffer | string, actor = 'alice') => send(url('/v1/publishers'), 'POST', body, { ...ADMIN, 'x-tocsin-actor': actor });
  const remove = (fingerprint: string, actor = 'alice') => send(url(`/v1/publishers/${fingerprint}`), 'DELETE', undefined, { authorization: ADMIN.authorization, 'x-tocsin-actor': actor });
  const keyBody = (key: string) => JSON.stringify({ key });

  async function expectHarmless(answer: Answer, what: string, statuses?: readonly number[]) {
    rig.refused(answer, what, statuses);
    await rig.unchanged(what);
  }

  /** A 400 naming `key`, whose message matches `why`, that changed nothing. */
  async function expectKeyRefused(answer: Answer, what: string, why: RegExp) {
    await expectHarmless(answer, what, [400]);
    const error = (JSON.parse(answer.body) as { error: { code: string; fields: { field: string; message: string }[] } }).error;
    expect({ what, code: error.code, fields: error.fields.map((f) => f.field) }).toEqual({ what, code: 'invalid_key', fields: ['key'] });
    expect({ what, message: error.fields[0]!.message }).toEqual({ what, message: expect.stringMatching(why) });
  }

  describe('POST /v1/publishers', () => {
    it('refuses random bytes, JSON-ish soup and random JSON values', async () => {
      await fuzz('publishers: random bodies', 150, async (rng, i) => {
        await expectHarmless(await enrol(randomBody(rng, i, ['key'])), `random enrolment body ${i}`);
      });
    });

    it('refuses a valid enrolment truncated at every cut point, and a key cut short inside a whole body', async () => {
      const whole = Buffer.from(keyBody(newcomer.armoredPublicKey));
      for (let cut = 0; cut < whole.length; cut++) {
        await expectHarmless(await enrol(whole.subarray(0, cut)), `enrolment cut at byte ${cut} of ${whole.length}`, [400]);
      }
      const key = newcomer.armoredPublicKey;
      await fuzz('publishers: truncated keys', 40, async (rng) => {
        const cut = rng.int(0, key.indexOf('-----END') - 1);
        const answer = await enrol(keyBody(key.slice(0, cut)));
        await expectHarmless(answer, `key cut at ${cut}`, [400]);
        expect(fieldsOf(answer)).toEqual(['key']);
      });
    });

    it('refuses a wrong type or an unknown field, naming it', async () => {
      for (const value of [null, 7, true, [], {}, [newcomer.armoredPublicKey], '']) {
        const answer = await enrol(JSON.stringify({ key: value }));
        await expectHarmless(answer, `key ${JSON.stringify(value).slice(0, 40)}`, [400]);
        expect(fieldsOf(answer)).toEqual(['key']);
      }
      for (const extra of ['actor', 'fingerprint', '__proto__', 'constructor']) {
        const answer = await enrol(`${keyBody(newcomer.armoredPublicKey).slice(0, -1)},${JSON.stringify(extra)}:"mallory"}`);
        await expectHarmless(answer, `enrolment with ${extra}`, [400]);
        expect(fieldsOf(answer)).toEqual([extra]);
      }
      const missing = await enrol('{}');
      await expectHarmless(missing, 'no key', [400]);
      expect(fieldsOf(missing)).toEqual(['key']);
    });

    it('refuses huge, deeply nested and non-UTF-8 bodies', async () => {
      await expectHarmless(await enrol(keyBody('A'.repeat(BODY_LIMIT_BYTES))), 'enrolment over 1 MiB', [413]);
      const huge = await enrol(keyBody(`${newcomer.armoredPublicKey}${'A'.repeat(BODY_LIMIT_BYTES - 2_000)}`));
      await expectHarmless(huge, 'a key followed by 1 MiB of base64', [400]);
      expect(fieldsOf(huge)).toEqual(['key']);
      await expectHarmless(await enrol(DEEP.arrays), 'body of 100,000 nested arrays', [400]);
      await expectHarmless(await enrol(DEEP.objects), 'body of 100,000 nested objects', [400]);
      await expectHarmless(await enrol(`{"key":${DEEP.arrays}}`), 'key of 100,000 nested arrays', [400]);
      await fuzz('publishers: invalid UTF-8', 40, async (rng, i) => {
        const { body, what } = withInvalidUtf8(rng, Buffer.from(keyBody(newcomer.armoredPublicKey)));
        const answer = await enrol(body);
        await expectHarmless(answer, `${what} (case ${i})`, [400]);
        expect(codeOf(answer)).toBe('malformed_json');
      });
    });

    it('refuses keys that could never publish, naming the key and why', async () => {
      const made = await Promise.all([
        createGpgPublisher('weak@example.org', '1y', { algo: 'rsa1024' }),
        createGpgPublisher('certonly@example.org', '1y', { usage: 'cert' }),
        createGpgPublisher('old@example.org', '30d', { createdAt: '20200101T000000' }),
      ]);
      try {
        const [weak, certOnly, expired] = made as [GpgPublisher, GpgPublisher, GpgPublisher];
        const gpgOut = async (home: string, ...args: string[]) => {
          const r = await runTool('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
          if (r.code !== 0) throw new Error(r.stderr);
          return r.stdout;
        };
        const secret = await gpgOut(newcomer.home, '--armor', '--export-secret-keys', newcomer.fingerprint);
        const signature = await newcomer.sign('not a key');
        const oneBlock = (await withGpgHome([newcomer.armoredPublicKey, weak.armoredPublicKey], (gpg) => gpg('--armor', '--export'))).stdout;
        expect(oneBlock.match(/-----BEGIN/g)).toHaveLength(1);
        const cases: [string, string, RegExp][] = [
          ['a secret key', secret, /secret key/],
          ['an RSA-1024 key', weak.armoredPublicKey, /too weak|2047/],
          ['a key that expired in 2020', expired.armoredPublicKey, /expired/],
          ['a key that can only certify', certOnly.armoredPublicKey, /can sign/],
          ['a detached signature', signature, /not an armored OpenPGP key/],
          ['a key with its armor lines cut off', newcomer.armoredPublicKey.split('\n').filter((l) => !l.startsWith('-----')).join('\n'), /not an armored OpenPGP key/],
          ['two keys in one armored block', oneBlock, /one key at a time/],
          ['two armored keys, one after the other', `${newcomer.armoredPublicKey}${weak.armoredPublicKey}`, /one key at a time/],
          ['a second key whose armor lines are indented', `${newcomer.armoredPublicKey}${weak.armoredPublicKey.replace(/^-----/gm, '  -----')}`, /one key at a time/],
          ['the same key pasted twice', `${newcomer.armoredPublicKey}\n${newcomer.armoredPublicKey}`, /one key at a time/],
          ['a secret key after the public key', `${newcomer.armoredPublicKey}${secret}`, /one key at a time/],
          ['a fingerprint instead of a key', newcomer.fingerprint, /not an armored OpenPGP key/],
        ];
        for (const [what, key, why] of cases) await expectKeyRefused(await enrol(keyBody(key)), what, why);
      } finally {
        await Promise.all(made.map((p) => p.dispose()));
      }
      const again = await enrol(keyBody(rig.publisher.armoredPublicKey));
      await expectHarmless(again, 'the enrolled key again', [409]);
      expect(codeOf(again)).toBe('already_enrolled');
    });
  });

  describe('X-Tocsin-Actor', () => {
    const ACTOR = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
    /** Bytes that may not appear in an actor; whitespace only inside the value (Node trims its ends). */
    const bad = ['\t', ' ', ',', ';', '"', '/', '\\', ':', '<', '(', '=', '\u0001', '\u001f', '\u007f', '\u00a0', '\u00e9', '\u00ff'];

    /** A request that would be accepted but for its X-Tocsin-Actor lines: an enrolment or a removal. */
    function request(kind: 'enrol' | 'remove', actorLines: readonly string[]): Buffer {
      const auth = ['Connection: close', `Authorization: Bearer ${ADMIN_TOKEN}`, ...actorLines];
      if (kind === 'enrol') {
        const body = Buffer.from(keyBody(newcomer.armoredPublicKey));
        return rawRequest('POST', '/v1/publishers', [...auth, 'Content-Type: application/json', `Content-Length: ${body.length}`], body);
      }
      return rawRequest('DELETE', `/v1/publishers/${rig.publisher.fingerprint}`, auth);
    }

    async function expectActorRefused(kind: 'enrol' | 'remove', actorLines: readonly string[], what: string, statuses: readonly number[] = [400]) {
      const exchange = await rawExchange(rig.tocsin.api.port, request(kind, actorLines));
      const res = exchange.responses[0];
      if (!res) throw new Error(`${what}: no HTTP answer, got ${JSON.stringify(exchange.raw.slice(0, 200))}`);
      const answer = { status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body };
      await expectHarmless(answer, what, statuses);
      if (codeOf(answer) === 'invalid_actor') expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: ['X-Tocsin-Actor'] });
      return answer;
    }

    it.each([
      ['no header', []],
      ['an empty header', ['X-Tocsin-Actor:']],
      ['only spaces', ['X-Tocsin-Actor:    ']],
      ['the reserved actor', ['X-Tocsin-Actor: filesystem']],
      ['the reserved actor in capitals', ['X-Tocsin-Actor: FileSystem']],
      ['65 characters', [`X-Tocsin-Actor: ${'a'.repeat(65)}`]],
      ['10 KiB', [`X-Tocsin-Actor: ${'a'.repeat(10 * 1024)}`]],
      ['a leading dot', ['X-Tocsin-Actor: .alice']],
      ['two names in one header', ['X-Tocsin-Actor: alice, bob']],
      ['UTF-8 bytes', [Buffer.from('X-Tocsin-Actor: zoë').toString('latin1')]],
      ['an armored key', [`X-Tocsin-Actor: -----BEGIN PGP PUBLIC KEY BLOCK-----`]],
    ])('refuses %s with 400 naming the header', async (what, lines) => {
      for (const kind of ['enrol', 'remove'] as const) await expectActorRefused(kind, lines, `${kind}: ${what}`);
    });

    it.each([
      ['alice, then bob', ['X-Tocsin-Actor: alice', 'X-Tocsin-Actor: bob']],
      ['alice twice', ['X-Tocsin-Actor: alice', 'X-Tocsin-Actor: alice']],
      ['an empty one, then alice', ['X-Tocsin-Actor:', 'X-Tocsin-Actor: alice']],
      ['in two spellings', ['x-tocsin-actor: alice', 'X-TOCSIN-ACTOR: bob']],
    ])('refuses the header twice (%s) with 400 duplicate_header', async (what, lines) => {
      for (const kind of ['enrol', 'remove'] as const) {
        const answer = await expectActorRefused(kind, lines, `${kind}: ${what}`);
        expect(codeOf(answer)).toBe('duplicate_header');
        expect(JSON.parse(answer.body).error.message).toMatch(/x-tocsin-actor/i);
      }
    });

    it.each([
      ['a NUL', ['X-Tocsin-Actor: ali\u0000ce']],
      ['a bare CR', ['X-Tocsin-Actor: ali\rce']],
      ['a newline that starts a line with no colon', ['X-Tocsin-Actor: ali\nce']],
      ['a folded continuation line', ['X-Tocsin-Actor: alice', ' bob']],
      ['20 KiB (over the header limit)', [`X-Tocsin-Actor: ${'a'.repeat(20 * 1024)}`]],
    ])('refuses %s before express sees it', async (what, lines) => {
      for (const kind of ['enrol', 'remove'] as const) await expectActorRefused(kind, lines, `${kind}: ${what}`, [400, 431]);
    });

    it('refuses any actor with one byte it may not hold', async () => {
      await fuzz('actor: one bad byte', 120, async (rng, i) => {
        const name = Array.from({ length: rng.int(2, 40) }, () => rng.pick([...'abcXYZ019._@+-'])).join('').replace(/^[._@+-]/, 'a');
        const at = rng.int(1, name.length - 1);
        const actor = `${name.slice(0, at)}${rng.pick(bad)}${name.slice(at)}`;
        expect(ACTOR.test(actor)).toBe(false);
        await expectActorRefused(rng.pick(['enrol', 'remove'] as const), [`X-Tocsin-Actor: ${actor}`], `actor ${JSON.stringify(actor)} (case ${i})`);
      });
    });
  });

  describe('DELETE /v1/publishers/:fingerprint', () => {
    it('refuses what is not a fingerprint with 400 naming it, and an unknown one with 404', async () => {
      const fpr = rig.publisher.fingerprint;
      const malformed = [
        encodeURIComponent(rig.publisher.armoredPublicKey),
        encodeURIComponent(fpr.replace(/(.{4})/g, '$1 ').trim()),
        `0x${fpr}`,
        fpr.slice(0, 39),
        `${fpr}0`,
        fpr.slice(-16),
        `${fpr}%00`,
        `${fpr}%0a`,
        `%20${fpr}`,
        `${fpr}${fpr.slice(0, 23)}`,
        encodeURIComponent(fpr.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)))),
        'Z'.repeat(40),
        '__proto__',
        '..%2f..%2fkeys',
      ];
      for (const f of malformed) {
        const answer = await remove(f);
        await expectHarmless(answer, `fingerprint ${f.slice(0, 60)}`, [400]);
        expect({ f, fields: fieldsOf(answer) }).toEqual({ f, fields: ['fingerprint'] });
      }
      await fuzz('publishers: odd fingerprints', 100, async (rng, i) => {
        const f = rng.bool()
          ? [...rng.bytes(rng.int(1, 60))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
          : rng.pick(['%', '%Z', '%E0%A4%A', '%ff', '%C0%AF', '%ED%A0%80']);
        await expectHarmless(await remove(f), `fingerprint ${f.slice(0, 80)} (case ${i})`, [400]);
      });
      for (const unknown of [newcomer.fingerprint, newcomer.fingerprint.toLowerCase(), 'A'.repeat(64)]) {
        const answer = await remove(unknown);
        await expectHarmless(answer, `unknown fingerprint ${unknown}`, [404]);
        expect(JSON.parse(answer.body).error.message).toContain(unknown.toUpperCase());
      }
    });

    it('answers 404 in the error shape for methods and paths it does not serve', async () => {
      for (const [method, p] of [
        ['PUT', '/v1/publishers'],
        ['PATCH', `/v1/publishers/${rig.publisher.fingerprint}`],
        ['POST', `/v1/publishers/${rig.publisher.fingerprint}`],
        ['DELETE', '/v1/publishers'],
        ['DELETE', `/v1/publishers/${rig.publisher.fingerprint}/x`],
      ] as const) {
        await expectHarmless(await send(url(p), method, method === 'PUT' || method === 'POST' ? keyBody(newcomer.armoredPublicKey) : undefined, { ...ADMIN, 'x-tocsin-actor': 'alice' }), `${method} ${p}`, [404]);
      }
    });
  });

  // Last: the same requests without their flaw are accepted, and the rig sees the change.
  it('enrols and removes for a request without a flaw, and the rig notices', async () => {
    const enrolled = await enrol(keyBody(newcomer.armoredPublicKey), 'carol');
    expect(enrolled.status).toBe(201);
    await expect(rig.unchanged('after a legitimate enrolment')).rejects.toThrow(/directory changed/);
    expect((await remove(newcomer.fingerprint, 'carol')).status).toBe(200);
  });
});
