import zlib from 'node:zlib';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { startHostileRig, type Answer, type HostileRig } from '../support/hostile-rig';
import { rawExchange, rawRequest, type RawExchange } from '../support/raw-http';
import { ADMIN_TOKEN } from '../support/tocsin-harness';

/**
 * Header and framing tricks, written byte for byte to a raw socket (no client library to tidy them
 * up). Each carries a body that tocsin would accept were the trick ignored: a fresh advisory
 * validly signed by the enrolled publisher, or a valid recipient. Each must be refused with a 4xx
 * in the one JSON error shape and change nothing.
 */
describe('hostile HTTP headers and framing', () => {
  let rig: HostileRig;
  beforeAll(async () => {
    rig = await startHostileRig();
  });
  afterAll(() => rig?.close());

  const port = () => rig.tocsin.api.port;

  async function signedBody(): Promise<Buffer> {
    const document = documentText(sampleAdvisory({ id: uniqueId('HDR') }));
    return Buffer.from(JSON.stringify({ document, signatures: [await rig.publisher.sign(document)] }));
  }

  function first(exchange: RawExchange, what: string): Answer {
    const res = exchange.responses[0];
    if (!res) throw new Error(`${what}: no HTTP answer at all, got ${JSON.stringify(exchange.raw.slice(0, 200))}`);
    return { status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body };
  }

  /** Every answer on the connection is a refusal, and nothing changed. */
  async function expectHarmless(exchange: RawExchange, what: string, statuses?: readonly number[]) {
    first(exchange, what);
    for (const [i, res] of exchange.responses.entries()) {
      rig.refused({ status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body }, `${what} (answer ${i + 1})`, i === 0 ? statuses : undefined);
    }
    await rig.unchanged(what);
  }

  const codeOf = (exchange: RawExchange) => (JSON.parse(exchange.responses[0]?.body ?? '{}') as { error?: { code?: string } }).error?.code;
  const post = (headers: string[], body: Buffer) => rawRequest('POST', '/v1/advisories', ['Connection: close', ...headers], body);
  const len = (body: Buffer) => `Content-Length: ${body.length}`;

  it.each([
    ['no content type', [] as string[], 415, 'unsupported_media_type'],
    ['text/plain', ['Content-Type: text/plain'], 415, 'unsupported_media_type'],
    ['a form', ['Content-Type: application/x-www-form-urlencoded'], 415, 'unsupported_media_type'],
    ['a JSON-looking type', ['Content-Type: application/json-patch+json'], 415, 'unsupported_media_type'],
    ['charset latin1', ['Content-Type: application/json; charset=latin1'], 415, 'unsupported_media_type'],
    ['charset utf-16', ['Content-Type: application/json; charset=utf-16'], 415, 'unsupported_media_type'],
    ['charset utf-32', ['Content-Type: application/json; charset="utf-32"'], 415, 'unsupported_media_type'],
    ['an empty charset', ['Content-Type: application/json; charset=""'], 415, 'unsupported_media_type'],
    ['gzip that is not gzip', ['Content-Type: application/json', 'Content-Encoding: gzip'], 400, 'malformed_body'],
    ['deflate that is not deflate', ['Content-Type: application/json', 'Content-Encoding: deflate'], 400, 'malformed_body'],
    ['br that is not br', ['Content-Type: application/json', 'Content-Encoding: br'], 400, 'malformed_body'],
    ['an unknown encoding', ['Content-Type: application/json', 'Content-Encoding: compress'], 415, 'unsupported_media_type'],
    ['gzip twice', ['Content-Type: application/json', 'Content-Encoding: gzip, gzip'], 415, 'unsupported_media_type'],
    ['two content types, JSON first', ['Content-Type: application/json', 'Content-Type: text/plain'], 400, 'duplicate_header'],
    ['two content types, JSON last', ['Content-Type: text/plain', 'content-type: application/json'], 400, 'duplicate_header'],
    ['two Host headers', ['Content-Type: application/json', 'Host: elsewhere.invalid'], 400, 'duplicate_header'],
  ])('refuses %s', async (what, headers, status, code) => {
    const body = await signedBody();
    const exchange = await rawExchange(port(), post([...headers, len(body)], body));
    await expectHarmless(exchange, what, [status]);
    expect(codeOf(exchange)).toBe(code);
  });

  it('refuses a body in UTF-16, as declared', async () => {
    const body = Buffer.from((await signedBody()).toString('utf8'), 'utf16le');
    const exchange = await rawExchange(port(), post(['Content-Type: application/json; charset=utf-16le', len(body)], body));
    await expectHarmless(exchange, 'UTF-16 body', [415]);
  });

  it('refuses a gzip bomb that inflates past 1 MiB', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    expect(bomb.length).toBeLessThan(128 * 1024);
    const exchange = await rawExchange(port(), post(['Content-Type: application/json', 'Content-Encoding: gzip', len(bomb)], bomb));
    await expectHarmless(exchange, 'gzip bomb', [413]);
  });

  it('refuses lengths that lie', async () => {
    const body = await signedBody();
    // Shorter than the body: the rest is taken for a second request, which is not HTTP; Node's
    // parser refuses the connection before the first answer is written.
    const short = await rawExchange(port(), rawRequest('POST', '/v1/advisories', ['Content-Type: application/json', `Content-Length: ${body.length - 10}`], body));
    await expectHarmless(short, 'Content-Length 10 bytes short', [400]);
    // Longer than the body, and the client stops sending: no advisory, and the server goes on.
    const long = await rawExchange(port(), post(['Content-Type: application/json', `Content-Length: ${body.length + 10}`], body), { halfClose: true });
    await expectHarmless(long, 'Content-Length 10 bytes long', [400]);
    // A length of a petabyte is refused before a byte is read (by Node's parser, or as too large).
    const huge = await rawExchange(port(), post(['Content-Type: application/json', 'Content-Length: 1125899906842624'], body), { halfClose: true });
    await expectHarmless(huge, 'Content-Length of a petabyte', [400, 413]);
  });

  it.each([
    ['Transfer-Encoding and Content-Length together', (b: Buffer) => ['Content-Type: application/json', 'Transfer-Encoding: chunked', len(b)], (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')])],
    ['two different Content-Lengths', (b: Buffer) => ['Content-Type: application/json', len(b), `Content-Length: ${b.length + 1}`], (b: Buffer) => b],
    ['two equal Content-Lengths', (b: Buffer) => ['Content-Type: application/json', len(b), len(b)], (b: Buffer) => b],
    ['a chunk size that is not hex', () => ['Content-Type: application/json', 'Transfer-Encoding: chunked'], (b: Buffer) => Buffer.concat([Buffer.from('zz\r\n'), b, Buffer.from('\r\n0\r\n\r\n')])],
    ['a transfer coding that does not end in chunked', (b: Buffer) => ['Content-Type: application/json', 'Transfer-Encoding: gzip', len(b)], (b: Buffer) => b],
    ['a header folded over two lines', (b: Buffer) => ['Content-Type: application/json', 'X-Folded: a', ' b', len(b)], (b: Buffer) => b],
    ['a NUL in a header value', (b: Buffer) => ['Content-Type: application/json', 'X-Nul: a\u0000b', len(b)], (b: Buffer) => b],
    ['a space in a header name', (b: Buffer) => ['Content-Type: application/json', 'X Bad: a', len(b)], (b: Buffer) => b],
    ['20 KiB of headers', (b: Buffer) => ['Content-Type: application/json', `X-Huge: ${'a'.repeat(20 * 1024)}`, len(b)], (b: Buffer) => b],
  ])('refuses %s before express sees it, in the same JSON shape', async (what, headers, frame) => {
    const body = await signedBody();
    const exchange = await rawExchange(port(), post(headers(body), frame(body)));
    await expectHarmless(exchange, what);
  });

  it('refuses bytes that are not HTTP, and dot segments and bad escapes in a raw path', async () => {
    for (const [what, bytes] of [
      ['garbage', Buffer.from('\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003 not http\r\n\r\n', 'latin1')],
      ['a request line with no version', Buffer.from('POST /v1/advisories\r\n\r\n')],
      ['a bad percent escape', rawRequest('GET', '/v1/advisories/%E0%A4%A', ['Connection: close'])],
      ['a bad percent escape on unsubscribe', rawRequest('POST', '/v1/unsubscribe/%ZZ', ['Connection: close', 'Content-Length: 0'])],
      ['dot segments', rawRequest('GET', '/v1/advisories/./../../v1/recipients', ['Connection: close'])],
      ['an encoded slash', rawRequest('GET', '/v1/advisories/..%2f..%2frecipients.jsonl', ['Connection: close'])],
      ['a 20 KiB path', rawRequest('GET', `/v1/advisories/${'A'.repeat(20 * 1024)}`, ['Connection: close'])],
      ['an unknown expectation', rawRequest('POST', '/v1/advisories', ['Connection: close', 'Content-Type: application/json', 'Expect: 200-ok', 'Content-Length: 2'], '{}')],
    ] as const) {
      await expectHarmless(await rawExchange(port(), bytes), what);
    }
  });

  describe('admin bearer tokens', () => {
    const recipient = Buffer.from(JSON.stringify({ type: 'webhook', url: 'http://127.0.0.1:9/smuggled' }));
    const enrol = (authorization: string[]) =>
      rawRequest('POST', '/v1/recipients', ['Connection: close', 'Content-Type: application/json', ...authorization, `Content-Length: ${recipient.length}`], recipient);

    it.each([
      ['Bearer', `Bearer ${ADMIN_TOKEN}`],
      ['lowercase bearer', `bearer ${ADMIN_TOKEN}`],
      ['uppercase BEARER', `BEARER ${ADMIN_TOKEN}`],
      ['several spaces', `Bearer    ${ADMIN_TOKEN}`],
      ['trailing spaces (not part of the field value)', `Bearer ${ADMIN_TOKEN}   `],
    ])('accepts %s (RFC 9110: the scheme is case-insensitive)', async (_what, value) => {
      const res = (await rawExchange(port(), rawRequest('GET', '/v1/recipients', ['Connection: close', `Authorization: ${value}`]))).responses[0];
      expect(res?.status).toBe(200);
    });

    it.each([
      ['no header', []],
      ['an empty header', ['Authorization:']],
      ['the scheme alone', ['Authorization: Bearer']],
      ['the token without the scheme', [`Authorization: ${ADMIN_TOKEN}`]],
      ['Basic', [`Authorization: Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`]],
      ['a tab for the space', [`Authorization: Bearer\t${ADMIN_TOKEN}`]],
      ['no space', [`Authorization: Bearer${ADMIN_TOKEN}`]],
      ['a space inside the token', [`Authorization: Bearer ${ADMIN_TOKEN.slice(0, 8)} ${ADMIN_TOKEN.slice(8)}`]],
      ['a second word', [`Authorization: Bearer ${ADMIN_TOKEN} extra`]],
      ['a quoted token', [`Authorization: Bearer "${ADMIN_TOKEN}"`]],
      ['the token upper-cased', [`Authorization: Bearer ${ADMIN_TOKEN.toUpperCase()}`]],
      ['one character short', [`Authorization: Bearer ${ADMIN_TOKEN.slice(0, -1)}`]],
      ['one character more', [`Authorization: Bearer ${ADMIN_TOKEN}x`]],
      ['a no-break space before the token', [`Authorization: Bearer\u00a0${ADMIN_TOKEN}`]],
    ])('refuses %s with 401 and creates nothing', async (what, authorization) => {
      const exchange = await rawExchange(port(), enrol(authorization as string[]));
      await expectHarmless(exchange, what, [401]);
      expect(exchange.responses[0]?.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('refuses a control character after the token (Node\'s parser does, with 400) and creates nothing', async () => {
      await expectHarmless(await rawExchange(port(), enrol([`Authorization: Bearer ${ADMIN_TOKEN}\u000b`])), 'a vertical tab after the token', [400]);
    });

    it.each([
      ['wrong, then right', ['Authorization: Bearer wrong-token-0123456789', `Authorization: Bearer ${ADMIN_TOKEN}`]],
      ['right, then wrong', [`Authorization: Bearer ${ADMIN_TOKEN}`, 'Authorization: Bearer wrong-token-0123456789']],
    ])('refuses two Authorization headers (%s) and creates nothing', async (what, authorization) => {
      const exchange = await rawExchange(port(), enrol(authorization));
      await expectHarmless(exchange, what, [400]);
      expect(codeOf(exchange)).toBe('duplicate_header');
    });
  });

  // Last: the same requests without the trick are accepted, so each refusal above was the trick's doing.
  it('accepts the untricked request, plainly and gzipped', async () => {
    const body = await signedBody();
    const ok = first(await rawExchange(port(), post(['Content-Type: application/json', len(body)], body)), 'plain request');
    expect(ok.status).toBe(202);
    const gzipped = zlib.gzipSync(await signedBody());
    const inflated = first(await rawExchange(port(), post(['Content-Type: application/json; charset=UTF-8', 'Content-Encoding: gzip', len(gzipped)], gzipped)), 'gzip request');
    expect(inflated.status).toBe(202);
    const recipient = JSON.stringify({ type: 'webhook', url: 'http://127.0.0.1:9/smuggled' });
    const enrolled = first(
      await rawExchange(port(), rawRequest('POST', '/v1/recipients', ['Connection: close', 'Content-Type: application/json', `Authorization: bearer ${ADMIN_TOKEN}`, `Content-Length: ${recipient.length}`], recipient)),
      'recipient',
    );
    expect(enrolled.status).toBe(201);
  });
});
