import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createGuardedDispatcher } from '../../src/net/guarded-dispatcher';
import type { ResolveHost } from '../../src/net/resolve-host';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { isLoopback, watchConnectionAttempts } from '../support/connection-attempts';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * A DNS server an attacker controls: each name answers whatever the test last set for it, and
 * every question is recorded. A name with no answer set does not resolve; no real name is ever
 * resolved.
 */
function attackerDns() {
  const zone = new Map<string, string[]>();
  const asked: { host: string; answer: string[] }[] = [];
  const resolveHost: ResolveHost = async (host) => {
    const answer = zone.get(host);
    if (!answer) throw Object.assign(new Error(`no answer set for ${host}`), { code: 'ENOTFOUND' });
    asked.push({ host, answer });
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return {
    resolveHost,
    answer: (host: string, addresses: string[]) => zone.set(host, addresses),
    askedFor: (host: string) => asked.filter((a) => a.host === host).map((a) => a.answer),
  };
}

/**
 * Public addresses, given only to the enrolment check (which resolves and never connects).
 * Documentation ranges such as 203.0.113.0/24 are on tocsin's forbidden list themselves, so they
 * cannot stand for "public" here.
 */
const PUBLIC = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

describe('hostile webhook targets', () => {
  describe('enrolment with private targets refused', () => {
    const tocsin = useTocsin(() => ({ workers: false, env: { TOCSIN_ALLOW_PRIVATE_TARGETS: '0' } }));

    // Every spelling of a private address that a URL parser turns into one; only `localhost` is
    // a name, and it resolves from /etc/hosts.
    it.each([
      'http://localhost:9/hook',
      'http://LOCALHOST:9/hook',
      'http://127.1/hook',
      'http://0x7f.1/hook',
      'http://0177.0.0.1/hook',
      'http://2130706433/hook',
      'http://127.0.0.1./hook',
      'http://0/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[0:0:0:0:0:ffff:7f00:1]/hook',
      'http://[::127.0.0.1]/hook',
      'http://[::]/hook',
      'http://[64:ff9b::127.0.0.1]/hook',
      'http://[2002:7f00:1::1]/hook',
      'http://0xa9.0xfe.0xa9.0xfe/latest/meta-data',
      'http://[::ffff:169.254.169.254]/latest/meta-data',
      'http://10.1/hook',
      'https://192.168.0.1:443/hook',
      'http://100.64.0.1/hook',
    ])('refuses %s with 400 naming the url, and enrols nothing', async (url) => {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url });
      expect({ url, status: r.status, code: r.json?.error?.code }).toEqual({ url, status: 400, code: expect.stringMatching(/^(forbidden_target|invalid_recipient)$/) });
      expect(r.json.error.fields).toEqual([expect.objectContaining({ field: 'url' })]);
      expect((await tocsin.admin('GET', '/v1/recipients')).json.recipients).toEqual([]);
    });

    it.each([
      ['slack', 'api_url', { type: 'slack', channel_id: 'C0123456', token: 'xoxb-0123456789', api_url: 'http://127.1/api/' }],
      ['mastodon', 'instance_url', { type: 'mastodon', instance_url: 'http://[::ffff:7f00:1]', access_token: 'token-0123456789' }],
    ])('refuses a private %s %s too', async (_type, field, body) => {
      const r = await tocsin.admin('POST', '/v1/recipients', body);
      expect(r.status).toBe(400);
      expect(r.json.error.fields).toEqual([expect.objectContaining({ field })]);
      expect((await tocsin.admin('GET', '/v1/recipients')).json.recipients).toEqual([]);
    });
  });

  describe('DNS rebinding, through the running service', () => {
    // One resolver for the API's enrolment check and the workers' connections, as in production;
    // TOCSIN_ALLOW_PRIVATE_TARGETS unset, as in production.
    const dns = attackerDns();
    const publisher = useGpgPublisher('sec@example.org');
    let target: Receiver;
    beforeAll(async () => {
      target = await startReceiver();
    });
    const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], resolveHost: dns.resolveHost, env: { TOCSIN_ALLOW_PRIVATE_TARGETS: undefined } }));
    afterAll(async () => {
      await target?.close();
    });

    const recipientCount = async () => ((await tocsin.admin('GET', '/v1/recipients')).json.recipients as unknown[]).length;

    it('enrols a name answering a public address, then refuses it at connect when it answers loopback: failed for good, nothing dialled', async () => {
      expect(tocsin.config.allowPrivateTargets).toBe(false);
      const host = 'rebind.partner.invalid';
      const port = Number(new URL(target.url()).port);
      const dialled = watchConnectionAttempts();
      let advisory: string;
      let recipient: string;
      try {
        // The public answer is given only while enrolling: the enrolment check resolves and never
        // connects, and no advisory exists yet for a worker to send, so nothing can dial it.
        dns.answer(host, [PUBLIC]);
        recipient = (await tocsin.addWebhook(`http://${host}:${port}/hook`)).id;
        dns.answer(host, ['127.0.0.1']);

        const document = documentText(sampleAdvisory({ id: uniqueId('REBIND') }));
        const accepted = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
        expect(accepted.status).toBe(202);
        advisory = accepted.json.id as string;
        await eventually(async () => (await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`)).json.summary.failed === 1, 30_000, 'the delivery failed');
      } finally {
        dialled.stop();
      }
      // The full reason is for the operator; the public read only says the address was refused.
      const { summary, deliveries } = (await tocsin.admin('GET', `/v1/advisories/${advisory}/deliveries`)).json;
      expect(summary).toEqual({ pending: 0, delivered: 0, retrying: 0, failed: 1 });
      expect((await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`)).json.deliveries[0].last_error).toBe('destination address not allowed');
      // Failed at the first attempt, with no retry scheduled: a permanent failure, saying why.
      expect(deliveries).toEqual([
        expect.objectContaining({
          recipient,
          state: 'failed',
          attempts: 1,
          last_error: expect.stringContaining('rebind.partner.invalid resolves to 127.0.0.1, which is a loopback, private, link-local or reserved address'),
        }),
      ]);
      expect(deliveries[0].next_attempt_at).toBeUndefined();
      // Enrolment saw the public answer, the worker's connection the loopback one, from the same resolver.
      expect(dns.askedFor(host)).toEqual([[PUBLIC], ['127.0.0.1']]);
      // Refused at lookup, before any socket was dialled: not even a TCP handshake with the
      // receiver, and nothing in the whole process dialled anything off loopback.
      expect(target.requests).toHaveLength(0);
      expect(dialled.attempts.filter((a) => a.port === port)).toEqual([]);
      expect(dialled.attempts.filter((a) => !isLoopback(a.address))).toEqual([]);
      // The watch saw this test's own calls to the API, so its silence about the rest is evidence.
      expect(dialled.attempts).toContainEqual({ address: '127.0.0.1', port: tocsin.api.port });
    });

    it.each([
      ['webhook', 'url', (host: string) => ({ type: 'webhook', url: `https://${host}/hook` })],
      ['slack', 'api_url', (host: string) => ({ type: 'slack', channel_id: 'C0123456', token: 'xoxb-0123456789', api_url: `https://${host}/api/` })],
      ['mastodon', 'instance_url', (host: string) => ({ type: 'mastodon', instance_url: `https://${host}`, access_token: 'token-0123456789' })],
    ])('refuses a %s whose %s answers a private address at enrolment, with 400 naming the field', async (type, field, body) => {
      const host = `${type}.private.partner.invalid`;
      dns.answer(host, ['127.0.0.1']);
      const before = await recipientCount();
      const r = await tocsin.admin('POST', '/v1/recipients', body(host));
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'forbidden_target', fields: [{ field, message: `${host} resolves to 127.0.0.1, a loopback, private, link-local or reserved address` }] });
      expect(dns.askedFor(host)).toEqual([['127.0.0.1']]);
      expect(await recipientCount()).toBe(before);
    });

    it.each([
      [[PUBLIC, '127.0.0.1'], '127.0.0.1'],
      [[PUBLIC_V6, PUBLIC, '169.254.169.254'], '169.254.169.254'],
      [[PUBLIC, PUBLIC_V6, 'fd00::1'], 'fd00::1'],
      [[PUBLIC, '::ffff:10.0.0.1'], '::ffff:10.0.0.1'],
    ])('refuses at enrolment a name answering %j: one private address among public ones is enough', async (answer, bad) => {
      const host = `mixed-${answer.length}-${bad.replace(/[.:]/g, '-')}.partner.invalid`;
      dns.answer(host, answer);
      const before = await recipientCount();
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: `https://${host}/hook` });
      expect(r.status).toBe(400);
      expect(r.json.error.fields).toEqual([{ field: 'url', message: `${host} resolves to ${bad}, a loopback, private, link-local or reserved address` }]);
      expect(await recipientCount()).toBe(before);
    });
  });

  describe('each connection', () => {
    it('connects to exactly the address the lookup answered, resolving once per connection', async () => {
      // Two loopback listeners on one port; the name answers one, then the other, per connection.
      const { servers, port, reachedOn } = await listenOnBoth(['127.0.0.2', '127.0.0.3']);
      const script = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? '127.0.0.2' : '127.0.0.3'));
      const dns = attackerDns();
      try {
        for (const [i, address] of script.entries()) {
          dns.answer('partner.invalid', [address]);
          // A fresh dispatcher for each request, so each is a new connection and a new lookup.
          const dispatcher = createGuardedDispatcher({ allowPrivate: true, connectTimeoutMs: 2_000, resolveHost: dns.resolveHost });
          try {
            const r = await request(`http://partner.invalid:${port}/n${i}`, { method: 'POST', body: '{}', dispatcher });
            await r.body.dump();
            expect(r.statusCode).toBe(204);
          } finally {
            await dispatcher.close();
          }
        }
      } finally {
        for (const s of servers) {
          s.closeAllConnections();
          await new Promise((r) => s.close(r));
        }
      }
      expect(dns.askedFor('partner.invalid')).toEqual(script.map((a) => [a]));
      expect(reachedOn).toEqual(script.map((local, i) => ({ path: `/n${i}`, local })));
    });
  });
});

/** HTTP servers on each loopback address, all on one port, recording the address each request reached. */
async function listenOnBoth(addresses: readonly string[]) {
  const reachedOn: { path: string; local: string | undefined }[] = [];
  const handler: http.RequestListener = (req, res) => {
    reachedOn.push({ path: req.url ?? '', local: req.socket.localAddress });
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    const servers: http.Server[] = [];
    let port = 0;
    try {
      for (const address of addresses) {
        const server = http.createServer(handler);
        servers.push(server);
        server.listen(port, address);
        await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
        port = (server.address() as AddressInfo).port;
      }
      return { servers, port, reachedOn };
    } catch {
      for (const s of servers) s.close();
    }
  }
  throw new Error(`could not listen on ${addresses.join(' and ')} with one port`);
}
