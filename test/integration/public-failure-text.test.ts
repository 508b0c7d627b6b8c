import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Notice } from '../../src/channels/channel';
import { createEmailChannel, type EmailTarget } from '../../src/channels/email';
import { createMastodonChannel } from '../../src/channels/mastodon';
import { createSlackChannel } from '../../src/channels/slack';
import { createWebhookChannel, type WebhookTarget } from '../../src/channels/webhook';
import { describeFailure, failureOf } from '../../src/delivery/public-delivery-view';
import { systemResolveHost, type ResolveHost } from '../../src/net/resolve-host';
import { contractNotice } from '../contract/contract-notice';
import { startFakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack } from '../support/fake-slack';
import { freePort } from '../support/free-port';
import { startSilentPeer } from '../support/silent-peer';
import { startSmtpSink } from '../support/smtp-sink';
import { startReceiver, type ScriptedAnswer } from '../support/webhook-receiver';

/**
 * Real failures through the real channels, and what each leaves in the two texts a delivery
 * state keeps: the error's message (the admin read's `last_error`, which names the partner, and
 * should, for the operator) and the public summary (which must not).
 */
describe('what a failed send says, to the admin and to the public', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });
  const never = new AbortController().signal;

  /** The send's error, its admin text and its public text; the send must fail. */
  async function failure(send: () => Promise<unknown>) {
    const err = await send().then(
      () => {
        throw new Error('the send was expected to fail');
      },
      (e: unknown) => e,
    );
    return { admin: (err as Error).message, shown: describeFailure(failureOf(err)) };
  }

  const expectNone = (text: string, secrets: (string | number)[]) => {
    for (const s of secrets) expect(text).not.toContain(String(s));
  };

  describe('webhook', () => {
    let notice: Notice;
    const target = (url: string): WebhookTarget => ({ id: 'rcpt_w', type: 'webhook', url, secret: 'whsec_dGVzdC1zZWNyZXQ' });
    function webhook(options: { timeoutMs?: number; allowPrivate?: boolean; resolveHost?: ResolveHost } = {}) {
      const channel = createWebhookChannel({
        timeoutMs: options.timeoutMs ?? 5_000,
        allowPrivateTargets: options.allowPrivate ?? true,
        userAgent: 'tocsin-test',
        resolveHost: options.resolveHost ?? systemResolveHost,
      });
      closers.push(() => channel.close());
      return channel;
    }
    beforeAll(async () => {
      notice = await contractNotice('webhook');
    });

    it('connection refused on IPv4 and IPv6 loopback: the admin text has the address and port, the public one not', async () => {
      const port = await freePort();
      const v4 = await failure(() => webhook().send(notice, target(`http://127.0.0.1:${port}/hooks/acme?token=s3cr3t`), never));
      expect(v4.admin).toContain(`127.0.0.1:${port}`);
      expect(v4.shown).toBe('connection refused');

      const v6 = await failure(() => webhook().send(notice, target(`http://[::1]:${port}/hooks/acme?token=s3cr3t`), never));
      // A host without IPv6 answers "address not available" instead; neither names anything.
      expect(['connection refused', 'destination unreachable']).toContain(v6.shown);
      expectNone(v6.shown, ['::1', port, 's3cr3t', 'hooks']);
    });

    it('a peer that never answers, and one that drops the connection', async () => {
      const hang = await startSilentPeer('hang');
      const reset = await startSilentPeer('reset');
      closers.push(() => hang.close(), () => reset.close());
      const slow = await failure(() => webhook({ timeoutMs: 300 }).send(notice, target(`http://127.0.0.1:${hang.port}/hook`), never));
      expect(slow.shown).toBe('timed out');
      const dropped = await failure(() => webhook().send(notice, target(`http://127.0.0.1:${reset.port}/hook`), never));
      expect(dropped.admin).toMatch(/ECONNRESET|socket|closed/i);
      expect(dropped.shown).toBe('connection closed by the peer');
      expectNone(slow.shown + dropped.shown, [hang.port, reset.port, '127.0.0.1']);
    });

    it('an HTTP server that hangs up on the request: typed from undici\'s socket error', async () => {
      const server = http.createServer((req) => req.socket.destroy());
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      closers.push(() => new Promise<void>((r) => server.close(() => r())));
      const port = (server.address() as AddressInfo).port;
      const closed = await failure(() => webhook().send(notice, target(`http://127.0.0.1:${port}/x`), never));
      expect(closed.admin).toMatch(/UND_ERR_SOCKET|other side closed/);
      expect(closed.shown).toBe('connection closed by the peer');
    });

    it('a name that does not resolve, and one that resolves to a private address', async () => {
      const nxdomain: ResolveHost = (host) => Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
      const dns = await failure(() => webhook({ resolveHost: nxdomain }).send(notice, target('https://hooks.xn--bcher-kva.example:8443/acme'), never));
      expect(dns.admin).toContain('xn--bcher-kva.example');
      expect(dns.shown).toBe('host name did not resolve');

      const empty = await failure(() => webhook({ resolveHost: () => Promise.resolve([]) }).send(notice, target('https://partner.example/acme'), never));
      expect(empty.shown).toBe('host name did not resolve');

      const rebinding: ResolveHost = () => Promise.resolve([{ address: 'fd00::7', family: 6 }]);
      const privateAddress = await failure(() => webhook({ allowPrivate: false, resolveHost: rebinding }).send(notice, target('https://internal.partner.example/acme'), never));
      expect(privateAddress.admin).toContain('fd00::7');
      expect(privateAddress.shown).toBe('destination address not allowed');
      expectNone(dns.shown + empty.shown + privateAddress.shown, ['xn--', 'partner', 'fd00', '8443']);
    });

    it('HTTP answers: a status, a rate limit, a redirect whose Location carries credentials', async () => {
      const location = 'https://ops:hunter2@[2001:db8::5]:9443/moved?key=abc';
      const receiver = await startReceiver((_n, req): ScriptedAnswer => {
        if (req.path.startsWith('/503')) return { status: 503 };
        if (req.path.startsWith('/429')) return { status: 429, headers: { 'retry-after': '7' } };
        return { status: 302, headers: { location } };
      });
      closers.push(() => receiver.close());
      const channel = webhook();
      const down = await failure(() => channel.send(notice, target(receiver.url('/503')), never));
      expect(down.shown).toBe('HTTP 503');
      const limited = await failure(() => channel.send(notice, target(receiver.url('/429')), never));
      expect(limited.shown).toBe('rate limited (HTTP 429)');
      const moved = await failure(() => channel.send(notice, target(receiver.url('/302')), never));
      expect(moved.admin).toContain(location);
      expect(moved.shown).toBe('HTTP 302: redirects are not followed');
      expectNone(moved.shown, ['hunter2', '2001:db8', '9443', 'ops:']);
    });
  });

  describe('email', () => {
    const address = 'alerts+tocsin-critical@partner.example';
    const target: EmailTarget = { id: 'rcpt_e', type: 'email', address, unsubscribe_token: 'unsub-token-123' };
    let notice: Notice;
    beforeAll(async () => {
      notice = await contractNotice('email');
    });
    function email(smtpUrls: string[]) {
      const channel = createEmailChannel({ smtpUrls, from: 'ACME Security <security@acme.example>', publicUrl: 'http://127.0.0.1:1', concurrency: 1, timeoutMs: 5_000 });
      closers.push(() => channel.close());
      return channel;
    }

    it('a mailbox refused with a reply that quotes it: public text has the code only', async () => {
      const sink = await startSmtpSink({ onRcptTo: (a) => ({ code: 550, message: `5.1.1 <${a}>: Recipient address rejected: User unknown in virtual mailbox table` }) });
      closers.push(() => sink.close());
      const refused = await failure(() => email([sink.url]).send(notice, target, never));
      expect(refused.admin).toContain(address);
      expect(refused.admin).toContain(String(sink.port));
      expect(refused.shown).toBe('rejected by the mail server (550)');
    });

    it('relays that cannot be reached or turn us away at the greeting: no relay, no banner, no credentials', async () => {
      const closed = await freePort();
      const greeting = await startSmtpSink({ onConnect: () => ({ code: 421, message: 'mx1.partner.example ESMTP Postfix: too busy, try 192.0.2.7' }) });
      closers.push(() => greeting.close());
      const relays = [`smtp://relay-user:relay-pass@127.0.0.1:${closed}`, greeting.url];
      const none = await failure(() => email(relays).send(notice, target, never));
      expect(none.admin).toContain(`127.0.0.1:${closed}`);
      expect(none.admin).not.toContain('relay-pass');
      expect(none.shown).toBe('no mail relay took the message');
      expectNone(none.shown, [closed, greeting.port, 'relay-user', 'mx1', '192.0.2.7', 'partner']);
    });
  });

  describe('Slack', () => {
    let notice: Notice;
    beforeAll(async () => {
      notice = await contractNotice('slack');
    });

    it('platform codes are shown only when they are codes; an unreachable API is only unreachable', async () => {
      const fake = await startFakeSlack((n) => (n === 0 ? { ok: false, error: 'channel_not_found' } : { ok: false, error: 'see https://ops:pw@partner.example:8443/ C0SECRET42' }));
      closers.push(() => fake.close());
      const channel = createSlackChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost });
      closers.push(() => channel.close());
      const target = { id: 'rcpt_s', type: 'slack' as const, channel_id: 'C0SECRET42', token: 'xoxb-1234-5678-abcdefghijkl', api_url: fake.apiUrl };
      const missing = await failure(() => channel.send(notice, target, never));
      expect(missing.shown).toBe('platform error: channel_not_found');
      const hostile = await failure(() => channel.send(notice, target, never));
      expect(hostile.admin).toContain('partner.example');
      expect(hostile.shown).toBe('platform error');

      const port = await freePort();
      const gone = await failure(() => channel.send(notice, { ...target, api_url: `http://127.0.0.1:${port}/api/` }, never));
      expect(gone.shown).toBe('connection refused');
      expectNone(missing.shown + hostile.shown + gone.shown, ['C0SECRET42', 'xoxb-', 'partner', port, '127.0.0.1']);
    });
  });

  describe('Mastodon', () => {
    let notice: Notice;
    beforeAll(async () => {
      notice = await contractNotice('mastodon');
    });

    it('a refused token and an instance that is down', async () => {
      const instance = await startFakeMastodon({ maxCharacters: 20_000, tokens: ['good-token'] });
      closers.push(() => instance.close());
      const channel = createMastodonChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost });
      closers.push(() => channel.close());
      const target = { id: 'rcpt_m', type: 'mastodon' as const, instance_url: instance.url, access_token: 'revoked-token-xyz' };
      const refused = await failure(() => channel.send(notice, target, never));
      expect(refused.shown).toBe('HTTP 401');

      const port = await freePort();
      const down = await failure(() => channel.send(notice, { ...target, instance_url: `http://127.0.0.1:${port}` }, never));
      expect(down.shown).toBe('connection refused');
      expectNone(refused.shown + down.shown, ['revoked-token', port, '127.0.0.1']);
    });
  });
});
