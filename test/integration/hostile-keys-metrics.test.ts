import { fuzz, type Rng } from '../support/fuzz';
import { gpgWkdHash } from '../support/gpg-keys';
import { codeOf, oddSegment } from '../support/hostile-inputs';
import { send, startHostileRig, type Answer, type HostileRig } from '../support/hostile-rig';
import { parsePrometheus } from '../support/prometheus-parser';
import { rawExchange, rawRequest } from '../support/raw-http';
import { ADMIN_TOKEN } from '../support/tocsin-harness';

const METRICS_TOKEN = 'metrics-token-for-hostile-tests-0123';
const EMAIL = 'Security.Team@Tocsin.Example.ORG';
const DOMAIN = 'tocsin.example.org';
/** z-base-32, the alphabet of WKD hashes. */
const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** A raw request's first answer, as the rig judges answers. */
async function rawAnswer(port: number, bytes: Buffer): Promise<Answer & { headers: Record<string, string> }> {
  const exchange = await rawExchange(port, bytes);
  const res = exchange.responses[0];
  if (!res) throw new Error(`no HTTP answer, got ${JSON.stringify(exchange.raw.slice(0, 200))}`);
  return { status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body, headers: res.headers };
}

/**
 * Hostile requests to the read-only routes anyone can reach: `GET /metrics` (with and without
 * TOCSIN_METRICS_TOKEN) and the broadcaster key routes (Web Key Directory with odd hashes, domains
 * and `l=` parameters). Each refusal is a 4xx in the one error shape; none changes anything, none
 * ever shows a private key, and the metrics page stays well-formed.
 */
describe('hostile requests to /metrics and the key routes', () => {
  describe('with TOCSIN_METRICS_TOKEN', () => {
    let rig: HostileRig;
    let hash: string;
    let wkdKey: Buffer;

    beforeAll(async () => {
      rig = await startHostileRig({ TOCSIN_METRICS_TOKEN: METRICS_TOKEN, TOCSIN_KEY_EMAIL: EMAIL });
      const armored = await (await fetch(`${rig.tocsin.url}/v1/keys/broadcaster.asc`)).text();
      hash = await gpgWkdHash(armored, EMAIL);
      const res = await fetch(`${rig.tocsin.url}/.well-known/openpgpkey/${DOMAIN}/hu/${hash}`);
      expect(res.status).toBe(200);
      wkdKey = Buffer.from(await res.arrayBuffer());
    });
    afterAll(() => rig?.close());

    const port = () => rig.tocsin.api.port;
    const scrape = (authorization: readonly string[]) => rawAnswer(port(), rawRequest('GET', '/metrics', ['Connection: close', ...authorization]));

    async function expectHarmless(answer: Answer, what: string, statuses?: readonly number[]) {
      rig.refused(answer, what, statuses);
      expect({ what, leaked: /PRIVATE KEY|metrics-token|test-admin-token/.test(answer.body) }).toEqual({ what, leaked: false });
      await rig.unchanged(what);
    }

    it.each([
      ['Bearer', `Bearer ${METRICS_TOKEN}`],
      ['lowercase bearer', `bearer ${METRICS_TOKEN}`],
      ['uppercase BEARER', `BEARER ${METRICS_TOKEN}`],
      ['several spaces', `Bearer    ${METRICS_TOKEN}`],
    ])('serves the page for %s (RFC 9110: the scheme is case-insensitive, as for the admin token)', async (_what, value) => {
      const answer = await scrape([`Authorization: ${value}`]);
      expect(answer.status).toBe(200);
      expect(() => parsePrometheus(answer.body)).not.toThrow();
    });

    it('refuses near-miss and random tokens with 401, and repeated or malformed headers with 400', async () => {
      const near = [
        [],
        ['Authorization:'],
        ['Authorization: Bearer'],
        [`Authorization: ${METRICS_TOKEN}`],
        [`Authorization: Bearer ${ADMIN_TOKEN}`],
        [`Authorization: Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}`],
        [`Authorization: Bearer\t${METRICS_TOKEN}`],
        [`Authorization: Bearer${METRICS_TOKEN}`],
        [`Authorization: Bearer ${METRICS_TOKEN.toUpperCase()}`],
        [`Authorization: Bearer ${METRICS_TOKEN.slice(0, -1)}`],
        [`Authorization: Bearer ${METRICS_TOKEN}x`],
        [`Authorization: Bearer "${METRICS_TOKEN}"`],
        [`Authorization: Bearer ${METRICS_TOKEN} ${METRICS_TOKEN}`],
        [`Authorization: Bearer ${METRICS_TOKEN.slice(0, 8)} ${METRICS_TOKEN.slice(8)}`],
        [`Authorization: Bearer ${Buffer.from(METRICS_TOKEN).toString('base64')}`],
        [Buffer.from(`Authorization: Bearer\u00a0${METRICS_TOKEN}`).toString('latin1')],
      ];
      for (const lines of near) {
        const answer = await scrape(lines);
        await expectHarmless(answer, `metrics with ${JSON.stringify(lines)}`, [401]);
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="tocsin-metrics"');
      }
      await fuzz('metrics: random tokens', 100, async (rng, i) => {
        const token = Array.from({ length: rng.int(1, 300) }, () => String.fromCharCode(rng.int(0x21, 0x7e))).join('');
        await expectHarmless(await scrape([`Authorization: ${rng.pick(['Bearer', 'bearer', 'Basic', 'Token', ''])} ${token}`]), `metrics with token ${JSON.stringify(token).slice(0, 80)} (case ${i})`, [401]);
      });
      for (const [what, lines, status] of [
        ['wrong, then right', ['Authorization: Bearer wrong-token-0123456789', `Authorization: Bearer ${METRICS_TOKEN}`], 400],
        ['right, then wrong', [`Authorization: Bearer ${METRICS_TOKEN}`, 'Authorization: Bearer wrong-token-0123456789'], 400],
        ['a NUL in the token', [`Authorization: Bearer ${METRICS_TOKEN}\u0000`], 400],
        ['a 20 KiB token', [`Authorization: Bearer ${'a'.repeat(20 * 1024)}`], 431],
      ] as const) {
        await expectHarmless(await scrape(lines), what, [status]);
      }
    });

    it('answers 401 or 404 in the error shape for odd paths and methods near /metrics', async () => {
      for (const [method, p, statuses] of [
        ['GET', '/metrics?format=openmetrics', [401]],
        ['GET', '/METRICS', [401]],
        ['GET', '/metrics/', [401]],
        ['GET', '/metrics%00', [404]],
        ['GET', '/metrics/..%2fv1%2frecipients', [404]],
        ['POST', '/metrics', [404]],
        ['DELETE', '/metrics', [404]],
        ['PUT', '/metrics', [404]],
      ] as const) {
        await expectHarmless(await send(`${rig.tocsin.url}${p}`, method, method === 'GET' ? undefined : '{}', { 'content-type': 'application/json' }), `${method} ${p}`, statuses);
      }
    });

    describe('Web Key Directory', () => {
      const wkd = (p: string) => send(`${rig.tocsin.url}/.well-known/openpgpkey/${p}`, 'GET', undefined);
      const randomHash = (rng: Rng) => Array.from({ length: 32 }, () => rng.pick([...ZBASE32])).join('');

      it('answers 404 (or 400 for broken escapes) for any hash but the broadcaster\'s', async () => {
        const near = [hash.toUpperCase(), `${hash}x`, hash.slice(0, -1), `${hash}%00`, `${hash}%20`, `${hash}.asc`, encodeURIComponent(`${hash}/`), `${hash};l=x`];
        await fuzz('wkd: odd hashes', 200, async (rng, i) => {
          const h = i < near.length ? near[i]! : rng.bool() ? randomHash(rng) : oddSegment(rng);
          const route = rng.bool() ? `hu/${h}` : `${rng.pick([DOMAIN, DOMAIN.toUpperCase(), 'example.org'])}/hu/${h}`;
          await expectHarmless(await wkd(route), `WKD ${route.slice(0, 120)} (case ${i})`, [400, 404]);
        });
      });

      it("answers 404 (or 400) for the broadcaster's hash under any other domain, and for odd policy paths", async () => {
        const near = [`${DOMAIN}.`, `.${DOMAIN}`, `x${DOMAIN}`, `${DOMAIN}%00`, encodeURIComponent(`${DOMAIN}/..`), 'example.org', 'hu', 'localhost', '127.0.0.1', `${DOMAIN}%20`, encodeURIComponent(EMAIL)];
        await fuzz('wkd: odd domains', 150, async (rng, i) => {
          const domain = i < near.length ? near[i]! : oddSegment(rng);
          const route = rng.bool() ? `${domain}/hu/${hash}` : `${domain}/policy`;
          await expectHarmless(await wkd(route), `WKD ${route.slice(0, 120)} (case ${i})`, [400, 404]);
        });
        for (const route of ['', 'hu', 'hu/', `hu/${hash}/x`, `${DOMAIN}/hu`, `${DOMAIN}/hu/${hash}/policy`, `${DOMAIN}/policy/x`, 'policy/x']) {
          await expectHarmless(await wkd(route), `WKD ${route}`, [404]);
        }
      });

      it('serves the same key bytes whatever `l=` says, and refuses no lookup for it', async () => {
        await fuzz('wkd: l= parameters', 120, async (rng, i) => {
          const l = rng.pick([
            () => encodeURIComponent(rng.bytes(rng.int(0, 64)).toString('latin1')),
            () => [...rng.bytes(rng.int(1, 40))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
            () => rng.pick(['', '%', '%ff', '%E0%A4%A', 'security.team', 'Security.Team', 'someone.else', 'a'.repeat(10_000), '__proto__']),
            () => `${rng.pick(['security.team', 'x'])}&l=${rng.pick(['other', ''])}`,
          ])();
          const route = `${rng.bool() ? 'hu' : `${DOMAIN}/hu`}/${hash}?l=${l}`;
          const res = await fetch(`${rig.tocsin.url}/.well-known/openpgpkey/${route}`);
          const body = Buffer.from(await res.arrayBuffer());
          expect({ route: route.slice(0, 120), i, status: res.status, same: body.equals(wkdKey) }).toEqual({ route: route.slice(0, 120), i, status: 200, same: true });
          await rig.unchanged(`WKD with l=${l.slice(0, 60)}`);
        });
      });

      it('answers 404 in the error shape, never a file, for paths near the armored key', async () => {
        for (const p of ['/v1/keys/broadcaster.asc%00', '/v1/keys/..%2fprivate%2fbroadcaster.asc', '/v1/keys/private/broadcaster.asc', '/v1/keys/broadcaster.key', '/v1/keys/', '/v1/keys/broadcaster.asc/x', '/v1/keys/transition.json', '/v1/keys/transition.json.asc']) {
          const answer = await send(`${rig.tocsin.url}${p}`, 'GET', undefined);
          await expectHarmless(answer, `GET ${p}`, [404]);
          expect(codeOf(answer)).toBe('not_found');
        }
      });
    });
  });

  describe('without TOCSIN_METRICS_TOKEN', () => {
    let rig: HostileRig;
    beforeAll(async () => {
      rig = await startHostileRig();
    });
    afterAll(() => rig?.close());

    it('serves a well-formed page whatever the headers and query say, and changes nothing', async () => {
      await fuzz('metrics: open page', 60, async (rng, i) => {
        const query = rng.pick(['', '?', '?name[]=x', `?${encodeURIComponent(rng.bytes(20).toString('latin1'))}`, '?%ff=%', `?x=${'y'.repeat(4000)}`]);
        const headers = [
          ...(rng.bool() ? [`Authorization: ${rng.pick(['Bearer nonsense', `Bearer ${ADMIN_TOKEN}`, 'Basic YTpi', ''])}`] : []),
          ...(rng.bool() ? [`Accept: ${rng.pick(['application/openmetrics-text; version=1.0.0', 'application/json', '*/*', 'text/html'])}`] : []),
          ...(rng.bool() ? ['Accept-Encoding: gzip, br, zstd'] : []),
        ];
        const answer = await rawAnswer(rig.tocsin.api.port, rawRequest('GET', `/metrics${query}`, ['Connection: close', ...headers]));
        expect({ i, query, status: answer.status, type: answer.contentType }).toEqual({ i, query, status: 200, type: 'text/plain; version=0.0.4; charset=utf-8' });
        expect(() => parsePrometheus(answer.body)).not.toThrow();
        await rig.unchanged(`metrics case ${i}`);
      });
    });

    it('answers 404 in the error shape to other methods, with any body', async () => {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const answer = await send(`${rig.tocsin.url}/metrics`, method, '{"reset": true}', { 'content-type': 'application/json' });
        rig.refused(answer, `${method} /metrics`, [404]);
        await rig.unchanged(`${method} /metrics`);
      }
    });
  });
});
