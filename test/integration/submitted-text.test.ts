import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { createGpgPublisher } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { rawExchange, rawRequest } from '../support/raw-http';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';

/**
 * Submitted text that cannot deceive, through the API as clients send it: real gpg signatures,
 * real Redis, the running HTTP server. Nothing refused here is stored.
 */
describe('submitted text: duplicate keys and deceptive characters are refused', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false }));

  async function submit(document: string) {
    return tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
  }

  async function expectNothingStored(id: string) {
    expect((await tocsin.call('GET', `/v1/advisories/${id}`)).status).toBe(404);
  }

  describe('duplicate JSON keys', () => {
    it('refuses two severity keys with 400 naming document.severity, whichever a reader would take', async () => {
      const id = uniqueId('DUP');
      const text = documentText(sampleAdvisory({ id, severity: 'low' })).replace('"severity": "low",', '"severity": "low",\n  "severity": "critical",');
      expect(JSON.parse(text)).toMatchObject({ severity: 'critical' });
      const r = await submit(text);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_submission');
      expect(r.json.error.fields).toEqual([{ field: 'document.severity', message: expect.stringMatching(/^duplicate key/) }]);
      await expectNothingStored(id);
    });

    it('refuses keys equal only after unescaping, at any depth, naming the path', async () => {
      const id = uniqueId('DUP');
      const escaped = documentText(sampleAdvisory({ id })).replace('"severity": "critical",', '"severity": "critical",\n  "sev\\u0065rity": "none",');
      const r = await submit(escaped);
      expect(r.status).toBe(400);
      expect(r.json.error.fields).toEqual([{ field: 'document.severity', message: expect.stringMatching(/^duplicate key/) }]);

      const nested = documentText(sampleAdvisory({ id, affected: [{ product: 'acme-server', versions: '<2.3.1' }] })).replace(
        '"product": "acme-server",',
        '"product": "acme-server",\n      "product": "acme-client",',
      );
      const n = await submit(nested);
      expect(n.status).toBe(400);
      expect(n.json.error.fields).toEqual([{ field: 'document.affected.0.product', message: expect.stringMatching(/^duplicate key/) }]);
      await expectNothingStored(id);
    });

    it('still accepts the same key in different objects', async () => {
      const id = uniqueId('DUP');
      const r = await submit(documentText(sampleAdvisory({ id, affected: [{ product: 'a', versions: '<1' }, { product: 'b', versions: '<2' }] })));
      expect(r.status).toBe(202);
    });
  });

  describe('deceptive characters in the document', () => {
    it.each([
      ['title', { title: 'Patch now: update to 2.3.1\u202e1.3.2 ot etadpu' }, 'document.title', 'U+202E'],
      ['title with a line feed', { title: 'Remote code execution\nin acme-server' }, 'document.title', 'U+000A'],
      ['title with CRLF (header injection)', { title: 'RCE\r\nBcc: everyone@victim.example' }, 'document.title', 'U+000D'],
      ['summary with CR', { summary: 'one\r\ntwo' }, 'document.summary', 'U+000D'],
      ['summary with an isolate', { summary: 'Affects \u2066all\u2069 versions' }, 'document.summary', 'U+2066'],
      ['mitigation with a paragraph separator', { mitigations: [{ text: 'Disable it\u2029Really' }] }, 'document.mitigations.0.text', 'U+2029'],
      ['product with a C1 control', { affected: [{ product: 'acme\u0085server', versions: '<1' }] }, 'document.affected.0.product', 'U+0085'],
      ['versions with a line feed', { affected: [{ product: 'acme', versions: '<1\n>=2' }] }, 'document.affected.0.versions', 'U+000A'],
      ['cvss with DEL', { cvss: 'CVSS:3.1/AV:N\u007f' }, 'document.cvss', 'U+007F'],
    ])('refuses %s with 400 naming the field and the code point', async (_what, overrides, field, codePoint) => {
      const id = uniqueId('TXT');
      const r = await submit(documentText(sampleAdvisory({ id, ...overrides })));
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_submission');
      expect(r.json.error.fields).toEqual([{ field, message: expect.stringMatching(new RegExp(`^${codePoint.replace('+', '\\+')} `)) }]);
      expect(r.json.error.message).toContain(`${field}: ${codePoint}`);
      await expectNothingStored(id);
    });

    it('accepts line feeds and tabs in multi-line fields and joiners anywhere', async () => {
      const id = uniqueId('TXT');
      const r = await submit(documentText(sampleAdvisory({ id, title: 'Fehler in 👩‍💻 می‌خواهم', summary: 'One.\n\n\tTwo.', mitigations: [{ text: 'a\nb' }] })));
      expect(r.status).toBe(202);
    });
  });

  describe('recipients', () => {
    it('refuses a description with a bidirectional override, naming the field and code point, and stores nothing', async () => {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/hook', description: 'Partner \u202eAcme' });
      expect(r.status).toBe(400);
      expect(r.json.error.fields).toEqual([{ field: 'description', message: expect.stringMatching(/^U\+202E /) }]);
      expect((await tocsin.admin('GET', '/v1/recipients')).json.recipients).toEqual([]);
    });

    it('still takes a one-line description in any script', async () => {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/hook', description: 'Partner Acme — Überwachung 👩‍💻' });
      expect(r.status).toBe(201);
      expect((await tocsin.admin('DELETE', `/v1/recipients/${r.json.id as string}`)).status).toBe(204);
    });
  });

  describe('publishers', () => {
    const enrol = (key: string, actor = 'alice') => tocsin.call('POST', '/v1/publishers', { key }, { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-actor': actor });

    it('refuses at enrolment a key whose user id holds a bidirectional override', async () => {
      const deceptive = await createGpgPublisher('moc.elpmaxe@\u202eeve.example.org');
      try {
        const r = await enrol(deceptive.armoredPublicKey);
        expect(r.status).toBe(400);
        expect(r.json.error.code).toBe('invalid_key');
        expect(r.json.error.fields).toEqual([{ field: 'key', message: expect.stringMatching(/user id 1 .*U\+202E/) }]);
        const list = await tocsin.admin('GET', '/v1/publishers');
        expect(list.json.publishers.map((p: { fingerprint: string }) => p.fingerprint)).not.toContain(deceptive.fingerprint);
      } finally {
        await deceptive.dispose();
      }
    });

    it('names the code point of a control character in X-Tocsin-Actor', async () => {
      const body = JSON.stringify({ key: publisher.armoredPublicKey });
      const request = rawRequest(
        'POST',
        '/v1/publishers',
        ['Connection: close', `Authorization: Bearer ${ADMIN_TOKEN}`, 'X-Tocsin-Actor: alice\u009bsmith', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`],
        body,
      );
      const exchange = await rawExchange(tocsin.api.port, request);
      const res = exchange.responses[0];
      expect(res?.status).toBe(400);
      const answer = JSON.parse(res!.body) as { error: { code: string; fields: { field: string; message: string }[] } };
      expect(answer.error.code).toBe('invalid_actor');
      expect(answer.error.fields).toEqual([{ field: 'X-Tocsin-Actor', message: expect.stringMatching(/^U\+009B /) }]);
    });
  });
});
