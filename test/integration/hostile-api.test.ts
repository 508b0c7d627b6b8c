import { BODY_LIMIT_BYTES } from '../../src/http/json-body';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { fuzz, type Rng } from '../support/fuzz';
import { fieldsOf, inBatches, oddSegment, randomBody, withInvalidUtf8 } from '../support/hostile-inputs';
import { runTool } from '../support/gpg';
import { send, startHostileRig, type Answer, type HostileRig } from '../support/hostile-rig';
import { ADMIN_TOKEN } from '../support/tocsin-harness';

/**
 * Hostile input over the JSON API of a real tocsin: every answer is a 4xx with the one error
 * shape, and afterwards the service still answers, the archive gained nothing, no recipient came
 * or went and nothing was broadcast. Inputs are seeded: a failure prints the seed to replay.
 */
describe('hostile input over the API', () => {
  let rig: HostileRig;
  const JSON_TYPE = { 'content-type': 'application/json' };
  const ADMIN = { ...JSON_TYPE, authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    rig = await startHostileRig();
  });
  afterAll(() => rig?.close());

  const url = (p: string) => `${rig.tocsin.url}${p}`;
  const submit = (body: Buffer | string, headers: Record<string, string> = JSON_TYPE) => send(url('/v1/advisories'), 'POST', body, headers);
  const enrol = (body: Buffer | string) => send(url('/v1/recipients'), 'POST', body, ADMIN);

  /** The answer is a refusal with these statuses, and nothing changed. */
  async function expectHarmless(answer: Answer, what: string, statuses?: readonly number[]) {
    rig.refused(answer, what, statuses);
    await rig.unchanged(what);
  }

  async function signedBody(doc: Record<string, unknown> | string) {
    const document = typeof doc === 'string' ? doc : documentText(doc);
    return JSON.stringify({ document, signatures: [await rig.publisher.sign(document)] });
  }

  describe('POST /v1/advisories', () => {
    it('refuses random bytes, JSON-ish soup and random JSON values, whatever the content type', async () => {
      const types = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''];
      await fuzz('advisories: random bodies', 300, async (rng, i) => {
        const body = randomBody(rng, i, undefined, 4096);
        const type = rng.pick(types);
        await expectHarmless(await submit(body, type ? { 'content-type': type } : {}), `random body ${i} as "${type}"`);
      });
    });

    it('refuses a valid submission truncated at every cut point, and a document cut short inside a whole envelope', async () => {
      const document = documentText(sampleAdvisory({ id: uniqueId('TRUNC') }));
      const signature = await rig.publisher.sign(document);
      const whole = Buffer.from(JSON.stringify({ document, signatures: [signature] }));
      for (let cut = 0; cut < whole.length; cut++) {
        rig.refused(await submit(whole.subarray(0, cut)), `submission cut at byte ${cut} of ${whole.length}`, [400]);
        // A change any cut made would still show at the next look: every 100 cuts, not after each.
        if (cut % 100 === 99 || cut === whole.length - 1) await rig.unchanged(`submissions cut at up to byte ${cut} of ${whole.length}`);
      }
      // The envelope whole, the document cut: the signature no longer covers it.
      await fuzz('advisories: truncated documents', 40, async (rng) => {
        const cut = rng.int(0, document.length - 1);
        await expectHarmless(await submit(JSON.stringify({ document: document.slice(0, cut), signatures: [signature] })), `document cut at ${cut}`, [400, 401]);
      });
    });

    it('refuses a truncated document that the publisher really signed, with 400 naming the document', async () => {
      const document = documentText(sampleAdvisory({ id: uniqueId('TRUNCSIGNED') }));
      const cuts: number[] = [];
      await fuzz('advisories: signed truncations', 1, async (rng) => {
        for (let k = 0; k < 8; k++) cuts.push(rng.int(1, document.length - 2));
      });
      await inBatches(cuts, 4, async (cut) => {
        const answer = await submit(await signedBody(document.slice(0, cut)));
        await expectHarmless(answer, `signed document cut at ${cut}`, [400]);
        expect(fieldsOf(answer)[0]).toMatch(/^document/);
      });
    });

    it('refuses bodies at and over the 1 MiB limit, and fields over their own limits', async () => {
      const envelope = (size: number) => {
        const shell = JSON.stringify({ document: '', signatures: ['not a signature'] });
        return JSON.stringify({ document: 'x'.repeat(size - shell.length), signatures: ['not a signature'] });
      };
      expect(Buffer.byteLength(envelope(BODY_LIMIT_BYTES))).toBe(BODY_LIMIT_BYTES);
      await expectHarmless(await submit(envelope(BODY_LIMIT_BYTES)), 'body of exactly 1 MiB', [401]);
      await expectHarmless(await submit(envelope(BODY_LIMIT_BYTES + 1)), 'body of 1 MiB + 1', [413]);
      await expectHarmless(await submit(envelope(8 * BODY_LIMIT_BYTES)), 'body of 8 MiB', [413]);

      // Really signed, just under the limit: the summary is what is too long.
      const huge = sampleAdvisory({ id: uniqueId('HUGE'), summary: 's'.repeat(BODY_LIMIT_BYTES - 2_000) });
      const body = await signedBody(huge);
      expect(Buffer.byteLength(body)).toBeLessThan(BODY_LIMIT_BYTES);
      const answer = await submit(body);
      await expectHarmless(answer, 'signed document with a 1 MiB summary', [400]);
      expect(fieldsOf(answer)).toEqual(['document.summary']);

      const long = sampleAdvisory({
        id: uniqueId('LONG'),
        title: 't'.repeat(301),
        summary: 's'.repeat(20_001),
        affected: Array.from({ length: 501 }, (_, i) => ({ product: `p${i}`, versions: '<1' })),
        cves: Array.from({ length: 201 }, (_, i) => `CVE-2026-${10000 + i}`),
        mitigations: Array.from({ length: 101 }, () => ({ text: 'm' })),
        references: Array.from({ length: 201 }, (_, i) => `https://example.org/${i}`),
        cvss: 'C'.repeat(201),
      });
      const tooLong = await submit(await signedBody(long));
      await expectHarmless(tooLong, 'signed document with every list and text over its limit', [400]);
      expect(fieldsOf(tooLong).sort()).toEqual(
        ['document.affected', 'document.cves', 'document.cvss', 'document.mitigations', 'document.references', 'document.summary', 'document.title'].sort(),
      );

      const manySignatures = await submit(JSON.stringify({ document: 'x', signatures: Array.from({ length: 17 }, () => 'x') }));
      await expectHarmless(manySignatures, '17 signatures', [400]);
      expect(fieldsOf(manySignatures)).toEqual(['signatures']);
      const bigSignature = await submit(JSON.stringify({ document: 'x', signatures: ['x'.repeat(64 * 1024 + 1)] }));
      await expectHarmless(bigSignature, 'a 64 KiB + 1 signature', [400]);
      expect(fieldsOf(bigSignature)).toEqual(['signatures.0']);
    });

    it('refuses 100,000 levels of nesting with a 400, in the body and in a signed document', async () => {
      const depth = 100_000;
      const arrays = '['.repeat(depth) + ']'.repeat(depth);
      const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      await expectHarmless(await submit(arrays), 'body of 100,000 nested arrays', [400]);
      await expectHarmless(await submit(objects), 'body of 100,000 nested objects', [400]);
      await expectHarmless(await submit(`{"document":${arrays},"signatures":["x"]}`), 'document of 100,000 nested arrays', [400]);
      await expectHarmless(await submit(`{"document":"x","signatures":${arrays}}`), 'signatures of 100,000 nested arrays', [400]);
      // Signed by the enrolled publisher, so it is parsed and validated, not only refused at the door.
      for (const [what, document] of [
        ['signed document of 100,000 nested arrays', arrays],
        ['signed document whose affected list nests 100,000 deep', documentText(sampleAdvisory({ id: uniqueId('DEEP') })).replace('"affected": [', `"affected": [${'['.repeat(depth)}${']'.repeat(depth)},`)],
      ] as const) {
        const answer = await submit(await signedBody(document));
        await expectHarmless(answer, what, [400]);
        expect(fieldsOf(answer)[0]).toMatch(/^document/);
      }
    });

    it('refuses a wrong type in either envelope field, naming it', async () => {
      const wrong = [0, true, null, [], {}, ['x'], 'x'];
      for (const value of wrong) {
        if (typeof value !== 'string') {
          const answer = await submit(JSON.stringify({ document: value, signatures: ['x'] }));
          await expectHarmless(answer, `document ${JSON.stringify(value)}`, [400]);
          expect(fieldsOf(answer)).toEqual(['document']);
        }
        if (!Array.isArray(value) || value.length === 0) {
          const answer = await submit(JSON.stringify({ document: 'x', signatures: value }));
          await expectHarmless(answer, `signatures ${JSON.stringify(value)}`, [400]);
          expect(fieldsOf(answer)[0]).toBe('signatures');
        }
        if (typeof value !== 'string') {
          const answer = await submit(JSON.stringify({ document: 'x', signatures: [value] }));
          await expectHarmless(answer, `signatures [${JSON.stringify(value)}]`, [400]);
          expect(fieldsOf(answer)).toEqual(['signatures.0']);
        }
      }
    });

    it('refuses a wrong type in every field of a really signed document, naming the field', async () => {
      const paths: (string | number)[][] = [
        ['id'], ['revision'], ['kind'], ['title'], ['severity'], ['summary'], ['published'], ['affected'], ['affected', 0],
        ['affected', 0, 'product'], ['affected', 0, 'versions'], ['affected', 0, 'purl'], ['affected', 0, 'fixed'], ['cves'], ['cves', 0],
        ['mitigations'], ['mitigations', 0], ['mitigations', 0, 'text'], ['references'], ['references', 0], ['cvss'],
      ];
      const wrongFor = (valid: unknown): unknown[] => {
        if (typeof valid === 'number') return [null, '1', true, 1.5, [], {}];
        if (Array.isArray(valid)) return [null, 7, 'x', {}, true];
        if (valid !== null && typeof valid === 'object') return [null, 7, 'x', [], true];
        return [null, 7, true, [], {}];
      };
      const cases: { path: (string | number)[]; value: unknown }[] = [];
      for (const path of paths) {
        let valid: unknown = sampleAdvisory();
        for (const key of path) valid = (valid as Record<string | number, unknown> | undefined)?.[key];
        for (const value of wrongFor(valid)) cases.push({ path, value });
      }
      await inBatches(cases, 4, async ({ path, value }) => {
        const doc = sampleAdvisory({ id: uniqueId('TYPE') }) as Record<string | number, unknown>;
        let at: Record<string | number, unknown> = doc;
        for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
        at[path.at(-1) as string | number] = value;
        const answer = await submit(await signedBody(doc));
        const what = `signed document with ${path.join('.')} = ${JSON.stringify(value)}`;
        await expectHarmless(answer, what, [400]);
        expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: expect.arrayContaining([`document.${path.join('.')}`]) });
      });
    });

    it('refuses unknown fields in the envelope and anywhere in a signed document, naming each', async () => {
      for (const key of ['extra', '__proto__', 'constructor']) {
        const answer = await submit(`{"document":"x","signatures":["x"],${JSON.stringify(key)}:{"polluted":true}}`);
        await expectHarmless(answer, `envelope field ${key}`, [400]);
        expect(fieldsOf(answer)).toEqual([key]);
      }
      const base = () => sampleAdvisory({ id: uniqueId('UNKNOWN') }) as { affected: Record<string, unknown>[]; mitigations: Record<string, unknown>[] } & Record<string, unknown>;
      const cases: [string, (d: ReturnType<typeof base>) => void][] = [
        ['document.exploited', (d) => { d.exploited = true; }],
        ['document.affected.0.exploited', (d) => { d.affected[0]!.exploited = true; }],
        ['document.mitigations.0.exploited', (d) => { d.mitigations[0]!.exploited = true; }],
      ];
      await inBatches(cases, 3, async ([field, change]) => {
        const doc = base();
        change(doc);
        const answer = await submit(await signedBody(doc));
        await expectHarmless(answer, `signed document with ${field}`, [400]);
        expect(fieldsOf(answer)).toEqual([field]);
      });
      // A key JSON.parse keeps as an own property, which a careless merge would turn into a prototype.
      const proto = documentText(base()).replace('{', '{\n  "__proto__": {"severity": "none"},');
      const answer = await submit(await signedBody(proto));
      await expectHarmless(answer, 'signed document with __proto__', [400]);
      expect(fieldsOf(answer)).toEqual(['document.__proto__']);
    });

    it('refuses a body that is not valid UTF-8 with 400, wherever the bad bytes are', async () => {
      const document = documentText(sampleAdvisory({ id: uniqueId('UTF8') }));
      const whole = Buffer.from(JSON.stringify({ document, signatures: [await rig.publisher.sign(document)] }));
      await fuzz('advisories: invalid UTF-8', 120, async (rng, i) => {
        const { body, what } = withInvalidUtf8(rng, whole);
        const answer = await submit(body);
        await expectHarmless(answer, `${what} (case ${i})`, [400]);
        expect(JSON.parse(answer.body).error).toMatchObject({ code: 'malformed_json', message: expect.stringMatching(/UTF-8/) });
      });
    });

    it('refuses a document whose signed bytes are not UTF-8 with 400, though the signature is real', async () => {
      const marker = 'INVALID-BYTE-HERE';
      const text = documentText(sampleAdvisory({ id: uniqueId('LATIN1'), summary: `Caf${marker} menu plugin runs code.` }));
      const bytes = Buffer.concat(text.split(marker).flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xe9]), Buffer.from(part)])));
      const signature = await rig.publisher.sign(bytes); // Latin-1 "é": what an editor in the wrong encoding saves
      const envelope = Buffer.from(JSON.stringify({ document: text, signatures: [signature] }));
      const at = envelope.indexOf(marker);
      const body = Buffer.concat([envelope.subarray(0, at), Buffer.from([0xe9]), envelope.subarray(at + marker.length)]);
      const answer = await submit(body);
      await expectHarmless(answer, 'signed Latin-1 document', [400]);
      expect(JSON.parse(answer.body).error).toMatchObject({ code: 'malformed_json', message: expect.stringMatching(/UTF-8/) });

      // A lone surrogate has no UTF-8 form either: raw in the JSON string, the signed bytes
      // (WTF-8) cannot be what the document says...
      const marker2 = 'LONE-SURROGATE-HERE';
      const lone = documentText(sampleAdvisory({ id: uniqueId('SURROGATE'), summary: `lone ${marker2} half` }));
      const wtf8 = Buffer.concat(lone.split(marker2).flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(part)])));
      const raw = await submit(JSON.stringify({ document: lone.replace(marker2, '\ud800'), signatures: [await rig.publisher.sign(wtf8)] }));
      await expectHarmless(raw, 'signed document with a raw lone surrogate', [400]);
      expect(fieldsOf(raw)).toEqual(['document']);
      // ...and as a \ud800 escape in the signed text (plain ASCII, validly signed), it parses to
      // half a character that no channel could send.
      const escaped = documentText(sampleAdvisory({ id: uniqueId('ESCAPED'), summary: 'lone \ud800 half' }));
      expect(escaped).toContain('\\ud800');
      const answer2 = await submit(await signedBody(escaped));
      await expectHarmless(answer2, 'signed document with a \\ud800 escape', [400]);
      expect(fieldsOf(answer2)).toEqual(['document.summary']);
    });

    it('refuses signature blocks pasted into the document or in place of a signature', async () => {
      const json = documentText(sampleAdvisory({ id: uniqueId('PASTE') }));
      const detached = await rig.publisher.sign(json);
      const clearsigned = await clearsign(json);

      // The whole cleartext-signed message as the document, really signed again: not JSON.
      const whole = await submit(await signedBody(clearsigned));
      await expectHarmless(whole, 'a cleartext-signed message as the document', [400]);
      expect(fieldsOf(whole)).toEqual(['document']);
      // The document with its own signature pasted below it, all signed: not one JSON value.
      const appended = await submit(await signedBody(`${json}${detached}`));
      await expectHarmless(appended, 'the document with its signature pasted after it', [400]);
      // A cleartext block or a public key where a detached signature belongs.
      const asSignature = await submit(JSON.stringify({ document: json, signatures: [clearsigned] }));
      // Its signature is text-mode (0x01), a form publisher signatures may not take: 400, named.
      await expectHarmless(asSignature, 'a cleartext-signed message as the signature', [400]);
      expect(fieldsOf(asSignature)).toEqual(['signatures[0]']);
      const key = await submit(JSON.stringify({ document: json, signatures: [rig.publisher.armoredPublicKey] }));
      await expectHarmless(key, 'a public key as the signature', [401]);

      // Only the cleartext header pasted above the JSON, all signed: not JSON either.
      const header = await submit(await signedBody(`-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${json}`));
      await expectHarmless(header, 'a cleartext header pasted above the document', [400]);
      expect(fieldsOf(header)).toEqual(['document']);
      // Armor lines inside the text fields of a valid, signed advisory are accepted: every channel
      // neutralises them (slack-channel and mastodon-channel tests publish exactly that).
    });
  });

  /** `gpg --clearsign` by the enrolled publisher. */
  async function clearsign(text: string): Promise<string> {
    const { writeFile, readFile, rm, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'clear-'));
    try {
      await writeFile(path.join(dir, 'doc'), text);
      const r = await runTool('gpg', ['--homedir', rig.publisher.home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', rig.publisher.fingerprint, '--clearsign', '--output', path.join(dir, 'doc.asc'), path.join(dir, 'doc')]);
      if (r.code !== 0) throw new Error(r.stderr);
      return await readFile(path.join(dir, 'doc.asc'), 'utf8');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  describe('GET routes with odd ids and queries', () => {
    it('answers 4xx with the error shape for any id, encoded or not', async () => {
      const query = (rng: Rng): string =>
        rng.pick(['', '?revision=0', '?revision=-1', '?revision=1.5', '?revision=1e999', '?revision=NaN', '?revision=1&revision=2', '?revision[a]=1', '?revision=%ff', '?revision=%', `?revision=${'9'.repeat(400)}`, '?revision=0x1']);
      await fuzz('GET odd ids', 300, async (rng, i) => {
        const route = `/v1/advisories/${oddSegment(rng)}${rng.bool() ? '/deliveries' : ''}${query(rng)}`;
        // The client resolves `..` and `%2e%2e` as a dot-segment (WHATWG URL), so `/v1/advisories/%2e%2e/deliveries`
        // is sent as `/v1/deliveries`: an admin route, where 401 without the token is the right answer.
        const climbs = /^\/v1\/advisories\/(\.|%2e){2}\/deliveries/i.test(route);
        await expectHarmless(await send(url(route), 'GET', undefined), `GET ${route.slice(0, 200)} (case ${i})`, climbs ? [401] : [400, 404]);
      });
    });
  });

  describe('unsubscribe routes', () => {
    /** An unknown token's 404 is plain text for people (the link is opened in a browser); any other refusal is JSON. */
    function unsubscribeRefused(answer: Answer, what: string) {
      if (answer.status === 404 && answer.contentType.startsWith('text/plain')) {
        expect({ what, body: answer.body }).toEqual({ what, body: expect.stringMatching(/unknown/) });
      } else rig.refused(answer, what);
    }

    it('removes nobody for a wrong, random, malformed or near-miss token, by GET or POST', async () => {
      const real = rig.unsubscribeToken;
      const near = [`${real}x`, real.slice(0, -1), real.toUpperCase() === real ? real.toLowerCase() : real.toUpperCase(), `${real}%00`, `${real}%20`, `%20${real}`, ` ${real}`.replace(' ', '%09'), `${real}/x`, '__proto__', 'constructor'];
      await fuzz('unsubscribe tokens', 150, async (rng, i) => {
        const token = i < near.length ? near[i]! : rng.bool() ? encodeURIComponent(rng.bytes(rng.int(1, 64)).toString('base64url')) : rng.pick(['%', '%E0%A4%A', '%ff', 'A'.repeat(5000)]);
        const method = rng.pick(['GET', 'POST']);
        const form = rng.pick(['List-Unsubscribe=One-Click', '', 'List-Unsubscribe=One-Click&x='.padEnd(2000, 'y'), '%ff%fe']);
        const answer = await send(url(`/v1/unsubscribe/${token}`), method, method === 'POST' ? form : undefined, method === 'POST' ? { 'content-type': rng.pick(['application/x-www-form-urlencoded', 'application/json', 'multipart/form-data; boundary=b', 'application/x-www-form-urlencoded; charset=koi8-r']) } : {});
        unsubscribeRefused(answer, `${method} /v1/unsubscribe/${token.slice(0, 80)} (case ${i})`);
        await rig.unchanged(`unsubscribe case ${i}`);
      });
    });
  });

  describe('POST /v1/recipients (admin)', () => {
    const valid = { type: 'webhook', url: 'http://127.0.0.1:9/never', description: 'not to be created' };

    it('refuses random bytes, soup and random JSON values', async () => {
      await fuzz('recipients: random bodies', 200, async (rng, i) => {
        const body = randomBody(rng, i);
        await expectHarmless(await enrol(body), `random recipient body ${i}`);
      });
    });

    it('refuses a valid recipient truncated at every cut point', async () => {
      const whole = Buffer.from(JSON.stringify(valid));
      for (let cut = 0; cut < whole.length; cut++) {
        await expectHarmless(await enrol(whole.subarray(0, cut)), `recipient cut at byte ${cut}`, [400]);
      }
    });

    it('refuses a wrong type in every field of every recipient type, naming the field', async () => {
      const shapes: Record<string, Record<string, unknown>> = {
        webhook: { type: 'webhook', url: 'http://127.0.0.1:9/x', secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`, description: 'd' },
        email: { type: 'email', address: 'a@example.org', description: 'd' },
        slack: { type: 'slack', channel_id: 'C0123456', token: 'xoxb-0123456789', api_url: 'http://127.0.0.1:9/api/', description: 'd' },
        mastodon: { type: 'mastodon', instance_url: 'http://127.0.0.1:9', access_token: 'token-0123456789', description: 'd' },
      };
      for (const shape of Object.values(shapes)) {
        for (const field of Object.keys(shape)) {
          for (const value of [null, 7, true, [], {}, ['x']]) {
            const answer = await enrol(JSON.stringify({ ...shape, [field]: value }));
            const what = `${String(shape.type)} with ${field} = ${JSON.stringify(value)}`;
            await expectHarmless(answer, what, [400]);
            expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: expect.arrayContaining([field]) });
          }
        }
      }
    });

    it('refuses unknown fields, including a smuggled unsubscribe token or id, naming them', async () => {
      for (const [extra, value] of [['admin', true], ['id', 'rcpt_00000000000000000000'], ['unsubscribe_token', 'chosen-by-the-attacker'], ['__proto__', { type: 'email' }]] as const) {
        const body = `${JSON.stringify({ ...valid, ...(extra === 'unsubscribe_token' ? { type: 'email', address: 'a@example.org', url: undefined } : {}) }).slice(0, -1)},${JSON.stringify(extra)}:${JSON.stringify(value)}}`;
        const answer = await enrol(body);
        await expectHarmless(answer, `recipient with ${extra}`, [400]);
        expect(fieldsOf(answer)).toEqual([extra]);
      }
    });

    it('refuses huge, deeply nested and non-UTF-8 recipient bodies', async () => {
      const over = JSON.stringify({ ...valid, description: 'd'.repeat(BODY_LIMIT_BYTES) });
      await expectHarmless(await enrol(over), 'recipient body over 1 MiB', [413]);
      const under = JSON.stringify({ ...valid, description: 'd'.repeat(BODY_LIMIT_BYTES - 200) });
      const answer = await enrol(under);
      await expectHarmless(answer, 'recipient with a 1 MiB description', [400]);
      expect(fieldsOf(answer)).toEqual(['description']);
      const long = await enrol(JSON.stringify({ ...valid, url: `http://127.0.0.1:9/${'a'.repeat(2048)}` }));
      await expectHarmless(long, 'recipient with a 2 KiB url', [400]);
      expect(fieldsOf(long)).toEqual(['url']);
      await expectHarmless(await enrol('['.repeat(100_000) + ']'.repeat(100_000)), 'recipient body of 100,000 nested arrays', [400]);
      await expectHarmless(await enrol(`{"type":"webhook","url":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), 'url of 100,000 nested arrays', [400]);
      const bytes = Buffer.from(JSON.stringify(valid));
      const at = bytes.indexOf('not to be');
      await expectHarmless(await enrol(Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3]), bytes.subarray(at)])), 'recipient with invalid UTF-8', [400]);
    });
  });

  describe('PATCH /v1/recipients/:id (admin)', () => {
    let target: string;
    const change = (body: Buffer | string, id = target) => send(url(`/v1/recipients/${id}`), 'PATCH', body, ADMIN);
    beforeAll(async () => {
      const listed = (await rig.tocsin.admin('GET', '/v1/recipients')).json.recipients as { id: string; type: string }[];
      target = listed.find((r) => r.type === 'webhook')!.id;
    });

    it('refuses random bytes, soup and random JSON values, and random ids', async () => {
      await fuzz('recipient changes: random bodies', 150, async (rng, i) => {
        await expectHarmless(await change(randomBody(rng, i)), `random change body ${i}`);
      });
      await fuzz('recipient changes: odd ids', 60, async (rng, i) => {
        await expectHarmless(await change(JSON.stringify({ tlp: 'AMBER' }), oddSegment(rng)), `change to odd id ${i}`, [400, 404]);
      });
    });

    it('refuses a wrong value in each field it may change, naming the field', async () => {
      const wrong: Record<string, unknown[]> = {
        groups: [null, 7, true, {}, 'distros', ['Not A Group'], [7], ['a', 'a'], Array.from({ length: 51 }, (_, k) => `g${k}`)],
        tlp: [null, 7, true, [], {}, 'RED', 'amber', 'TLP:AMBER'],
        filter: [7, true, [], 'x', { products: [] }, { products: [' '] }, { kinds: ['retraction'] }, { min_severity: 7 }, { vendor: 'acme' }],
      };
      for (const [field, values] of Object.entries(wrong)) {
        for (const value of values) {
          const answer = await change(JSON.stringify({ [field]: value }));
          const what = `change ${field} to ${JSON.stringify(value).slice(0, 60)}`;
          await expectHarmless(answer, what, [400]);
          expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: [expect.stringMatching(new RegExp(`^${field}(\\.|$)`))] });
        }
      }
    });

    it('refuses every other field beside a valid change, a smuggled secret or unsubscribe token included, naming it', async () => {
      for (const [extra, value] of [
        ['url', 'http://127.0.0.1:9/attacker'],
        ['secret', `whsec_${Buffer.alloc(32, 2).toString('base64')}`],
        ['unsubscribe_token', 'chosen-by-the-attacker'],
        ['id', 'rcpt_00000000000000000000'],
        ['type', 'mastodon'],
        ['created_at', '2000-01-01T00:00:00Z'],
        ['admin', true],
        ['__proto__', { tlp: 'AMBER' }],
      ] as const) {
        const answer = await change(`{"tlp":"AMBER",${JSON.stringify(extra)}:${JSON.stringify(value)}}`);
        await expectHarmless(answer, `change with ${extra}`, [400]);
        expect(fieldsOf(answer)).toEqual([extra]);
      }
    });

    it('refuses huge, deeply nested and non-UTF-8 change bodies', async () => {
      await expectHarmless(await change(JSON.stringify({ groups: Array.from({ length: BODY_LIMIT_BYTES / 8 }, (_, k) => `g${k}`) })), 'change body over 1 MiB', [413]);
      await expectHarmless(await change(`{"filter":{"products":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`), 'products of 100,000 nested arrays', [400]);
      const bytes = Buffer.from(JSON.stringify({ groups: ['distros'] }));
      const at = bytes.indexOf('distros');
      await expectHarmless(await change(Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3]), bytes.subarray(at)])), 'change with invalid UTF-8', [400]);
    });
  });

  // Last: proves the rig would have seen a change. The same publisher, key and receivers accept
  // and broadcast one legitimate advisory.
  it('still accepts and broadcasts a legitimate advisory afterwards', async () => {
    const doc = sampleAdvisory({ id: uniqueId('AFTER') });
    const answer = await submit(await signedBody(doc));
    expect(answer.status).toBe(202);
    await rig.receiver.waitFor(1);
    await rig.smtp.waitFor(1);
    expect(rig.receiver.requests.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual([doc.id]);
    await expect(rig.unchanged('after a legitimate advisory')).rejects.toThrow(/data directory changed/);
  });
});
