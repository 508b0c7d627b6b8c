import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { PermanentDeliveryError } from '../../src/channels/delivery-errors';
import { createWebhookChannel } from '../../src/channels/webhook';
import { createGuardedDispatcher } from '../../src/net/guarded-dispatcher';
import type { ResolveHost } from '../../src/net/resolve-host';
import { targetUrlProblem } from '../../src/net/target-check';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * A resolver that answers as scripted, one answer per call, and fails when asked more often than
 * scripted: the stand-in for a DNS server an attacker controls. No real name is ever resolved.
 */
function scriptedResolver(script: readonly string[][]) {
  const calls: { host: string; answer: string[] }[] = [];
  const resolve: ResolveHost = async (host) => {
    const answer = script[calls.length];
    if (!answer) throw Object.assign(new Error(`resolver asked ${calls.length + 1} times for ${host}; scripted ${script.length}`), { code: 'ENOTFOUND' });
    calls.push({ host, answer });
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
}

/**
 * A public address, given only to the enrolment check (which never connects). Documentation
 * ranges such as 203.0.113.0/24 are on tocsin's forbidden list themselves, so they cannot stand
 * for "public" here.
 */
const PUBLIC = '93.184.215.14';

describe('hostile webhook targets', () => {
  describe('enrolment with private targets refused', () => {
    let tocsin: Tocsin;
    beforeAll(async () => {
      tocsin = await startTocsin({ workers: false, env: { TOCSIN_ALLOW_PRIVATE_TARGETS: '0' } });
    });
    afterAll(() => tocsin?.close());

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

  describe('DNS rebinding', () => {
    let target: Receiver;
    beforeAll(async () => {
      target = await startReceiver();
    });
    afterAll(() => target?.close());

    const notice = { ref: { id: 'X-1', revision: 1 }, messageId: 'msg_rebinding', payload: '{}', acceptedAt: new Date().toISOString() };
    const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

    it('enrols a name that answers a public address, then refuses it at connect time when it answers loopback', async () => {
      const port = new URL(target.url()).port;
      const url = `http://partner.invalid:${port}/hook`;
      // The attacker's DNS answers a public address while the name is being enrolled, and
      // 127.0.0.1 from then on. The public answer can only reach the enrolment check, which
      // resolves and never connects: whatever breaks, no connection can go off this machine.
      let enrolling = true;
      const calls: { host: string; answer: string }[] = [];
      const rebinding: ResolveHost = async (host) => {
        const address = enrolling ? PUBLIC : '127.0.0.1';
        calls.push({ host, answer: address });
        return [{ address, family: 4 }];
      };
      expect(await targetUrlProblem(url, false, rebinding)).toBeNull();
      enrolling = false;

      const channel = createWebhookChannel({ timeoutMs: 2_000, allowPrivateTargets: false, userAgent: 'test', resolveHost: rebinding });
      try {
        const send = channel.send(notice, { id: 'rcpt_rebound', type: 'webhook', url, secret }, new AbortController().signal);
        await expect(send).rejects.toBeInstanceOf(PermanentDeliveryError);
        await expect(send).rejects.toThrow(/partner\.invalid resolves to 127\.0\.0\.1/);
      } finally {
        await channel.close();
      }
      expect(calls).toEqual([
        { host: 'partner.invalid', answer: PUBLIC },
        { host: 'partner.invalid', answer: '127.0.0.1' },
      ]);
      expect(target.requests).toHaveLength(0);
    });

    it('refuses at enrolment a name with any private answer among public ones', async () => {
      const dns = scriptedResolver([[PUBLIC, '127.0.0.1']]);
      expect(await targetUrlProblem('http://partner.invalid/hook', false, dns.resolve)).toMatch(/resolves to 127\.0\.0\.1/);
    });

    it('connects to exactly the address the lookup answered, resolving once per connection', async () => {
      // Two loopback listeners on one port; the name alternates between them on every lookup.
      const { servers, port, reachedOn } = await listenOnBoth(['127.0.0.2', '127.0.0.3']);
      const script = Array.from({ length: 6 }, (_, i) => [i % 2 === 0 ? '127.0.0.2' : '127.0.0.3']);
      const dns = scriptedResolver(script);
      try {
        for (let i = 0; i < script.length; i++) {
          // A fresh dispatcher for each request, so each is a new connection and a new lookup.
          const dispatcher = createGuardedDispatcher({ allowPrivate: true, connectTimeoutMs: 2_000, resolveHost: dns.resolve });
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
      expect(dns.calls.map((c) => c.answer[0])).toEqual(script.map((a) => a[0]));
      expect(reachedOn).toEqual(script.map((a, i) => ({ path: `/n${i}`, local: a[0] })));
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
