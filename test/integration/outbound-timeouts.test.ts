import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Notice } from '../../src/channels/channel';
import { DestinationUnavailableError, TransientDeliveryError } from '../../src/channels/delivery-errors';
import { createEmailChannel } from '../../src/channels/email';
import { createMastodonChannel } from '../../src/channels/mastodon';
import { createSlackChannel } from '../../src/channels/slack';
import { createWebhookChannel } from '../../src/channels/webhook';
import { systemResolveHost } from '../../src/net/resolve-host';
import { contractNotice } from '../contract/contract-notice';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { underGarbagePressure } from '../support/garbage-pressure';
import { startSilentPeer, type SilentPeer, type Trickle } from '../support/silent-peer';
import { startReceiver } from '../support/webhook-receiver';

const TIMEOUT_MS = 400;
/** Slack for a loaded 2-core machine; a missing timeout would wait for minutes, not this. */
const MARGIN_MS = 2_000;
/**
 * A trickle renews every idle timer (undici's headers and body timers, a socket's timeout): only an
 * overall deadline ends a send to a trickling peer, at this rather than in hours or days.
 */
const TRICKLE_DEADLINE_MS = 1_000;
const DRIP_MS = 100;
/** An HTTP answer whose chunked body never ends: one byte of it per drip. */
const endless200 = (contentType: string): Trickle => ({
  answer: `HTTP/1.1 200 OK\r\ncontent-type: ${contentType}\r\ntransfer-encoding: chunked\r\n\r\n`,
  drip: '1\r\n \r\n',
  bytes: 6,
  everyMs: DRIP_MS,
});

/**
 * Every outbound call has a deadline: a peer that accepts the connection and then says nothing
 * costs one timeout and a failure typed for retry (and for the circuit breaker), never a hang.
 * (Email's SMTP deadlines are proven in email-relay-health.test.ts, Slack's in
 * slack-transport.test.ts; here they are checked for the breaker's typing.)
 */
describe('outbound timeouts', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  async function peer(mode: 'hang' | 'reset' | Trickle = 'hang'): Promise<SilentPeer> {
    const p = await startSilentPeer(mode);
    closers.push(() => p.close());
    return p;
  }
  const signal = () => new AbortController().signal;

  /** Runs a send that must fail; resolves to its error and how long it took. */
  async function failure(send: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
    const started = Date.now();
    const err = await send().then(() => null, (e: unknown) => e as Error);
    if (!err) throw new Error('the send succeeded');
    return { err, ms: Date.now() - started };
  }

  describe('webhook', () => {
    let notice: Notice;
    beforeAll(async () => {
      notice = await contractNotice('webhook');
    });
    function channel(timeoutMs = TIMEOUT_MS) {
      const c = createWebhookChannel({ timeoutMs, allowPrivateTargets: true, userAgent: 'test', resolveHost: systemResolveHost });
      closers.push(() => c.close());
      return c;
    }
    const target = (url: string) => ({ id: 'rcpt_1', type: 'webhook' as const, url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });

    it('gives up on a partner that accepts the connection and never answers, within the timeout', async () => {
      const hung = await peer();
      const { err, ms } = await failure(() => channel().send(notice, target(`http://127.0.0.1:${hung.port}/hook`), signal()));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/timed out waiting for the partner/);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(hung.requests()).toBe(1);
    });

    // A webhook's timeout bounds each phase; the whole request ends at twice it.
    it('cuts off a partner that answers 200 and then trickles its body, keeping the 200', async () => {
      const trickler = await peer({ answer: 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n', drip: 'x', everyMs: DRIP_MS });
      const started = Date.now();
      const receipt = await channel(TRICKLE_DEADLINE_MS / 2).send(notice, target(`http://127.0.0.1:${trickler.port}/hook`), signal());
      const ms = Date.now() - started;
      // The partner said 200: the notice reached it, whatever its body does after.
      expect(receipt.detail).toBe('HTTP 200');
      expect(ms).toBeGreaterThanOrEqual(TRICKLE_DEADLINE_MS - 50);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
      // ...and its socket is dropped, not left to trickle on.
      await eventually(async () => trickler.open() === 0, MARGIN_MS, 'the trickled connection closed');
    });

    it('cuts off a partner that trickles its headers, a byte at a time', async () => {
      const trickler = await peer({ answer: 'HTTP/1.1 200 OK\r\n', drip: 'x-padding: 0\r\n', everyMs: DRIP_MS });
      const { err, ms } = await failure(() => channel(TRICKLE_DEADLINE_MS / 2).send(notice, target(`http://127.0.0.1:${trickler.port}/hook`), signal()));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/timed out waiting for the partner/);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
    });

    it('cuts off a partner that keeps saying 102 Processing and never answers', async () => {
      // Each 1xx answer renews undici's headers timer.
      const processing = 'HTTP/1.1 102 Processing\r\n\r\n';
      const trickler = await peer({ drip: processing, bytes: processing.length, everyMs: DRIP_MS });
      const { err, ms } = await failure(() => channel(TRICKLE_DEADLINE_MS / 2).send(notice, target(`http://127.0.0.1:${trickler.port}/hook`), signal()));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/timed out waiting for the partner/);
      expect(ms).toBeGreaterThanOrEqual(TRICKLE_DEADLINE_MS - 50);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
    });

    it('counts a dropped connection and a 5xx against the host, but not a 404 or a 429', async () => {
      const dropping = await peer('reset');
      expect((await failure(() => channel().send(notice, target(`http://127.0.0.1:${dropping.port}/hook`), signal()))).err).toBeInstanceOf(DestinationUnavailableError);
      const r = await startReceiver((n) => ({ status: [502, 404, 429][n]! }));
      closers.push(() => r.close());
      const c = channel();
      const [e502, e404, e429] = [
        (await failure(() => c.send(notice, target(r.url()), signal()))).err,
        (await failure(() => c.send(notice, target(r.url()), signal()))).err,
        (await failure(() => c.send(notice, target(r.url()), signal()))).err,
      ];
      expect(e502).toBeInstanceOf(DestinationUnavailableError);
      expect(e404).toBeInstanceOf(TransientDeliveryError);
      expect(e404).not.toBeInstanceOf(DestinationUnavailableError);
      expect(e429).not.toBeInstanceOf(DestinationUnavailableError);
    });
  });

  // Under garbage pressure: masto's own timeout (an AbortSignal.timeout joined by
  // AbortSignal.any) was collected before it fired on a loaded machine, and a post hung for ever.
  describe('mastodon', () => {
    let notice: Notice;
    beforeAll(async () => {
      notice = await contractNotice('mastodon');
    });
    function channel() {
      const c = createMastodonChannel({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true, resolveHost: systemResolveHost });
      closers.push(() => c.close());
      return c;
    }
    const target = (instance_url: string) => ({ id: 'rcpt_1', type: 'mastodon' as const, instance_url, access_token: 'token-0123456789' });

    it('gives up on an instance that accepts the connection and never answers, within the timeout', async () => {
      const hung = await peer();
      const { err, ms } = await underGarbagePressure(() => failure(() => channel().send(notice, target(`http://127.0.0.1:${hung.port}`), signal())));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/timed out/);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    });

    it('gives up on an instance that trickles its answer, at the deadline', async () => {
      const trickler = await peer(endless200('application/json'));
      const c = createMastodonChannel({ timeoutMs: TRICKLE_DEADLINE_MS, allowPrivateTargets: true, resolveHost: systemResolveHost });
      closers.push(() => c.close());
      const { err, ms } = await underGarbagePressure(() => failure(() => c.send(notice, target(`http://127.0.0.1:${trickler.port}`), signal())));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/timed out/);
      expect(ms).toBeGreaterThanOrEqual(TRICKLE_DEADLINE_MS - 50);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
    });

    it('gives up on a status post that is never answered, within the timeout', async () => {
      // An instance that answers its limits, then takes the status and holds the answer.
      let posts = 0;
      const server = http.createServer((req, res) => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ configuration: { statuses: { max_characters: 5000, characters_reserved_per_url: 23 } } }));
          return;
        }
        posts += 1;
        req.resume();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      closers.push(async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const { err, ms } = await underGarbagePressure(() => failure(() => channel().send(notice, target(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), signal())));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/posting status 1 of 1: timed out/);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(posts).toBe(1);
    });
  });

  describe('slack', () => {
    it('types a Slack that never answers as the destination being unavailable', async () => {
      const hung = await peer();
      const c = createSlackChannel({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true, resolveHost: systemResolveHost });
      closers.push(() => c.close());
      const notice = await contractNotice('slack');
      const { err, ms } = await failure(() => c.send(notice, { id: 'rcpt_1', type: 'slack', channel_id: 'C0TEST01', token: 'xoxb-0123456789', api_url: `http://127.0.0.1:${hung.port}/api/` }, signal()));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    });
  });

  describe('slack, trickled', () => {
    let notice: Notice;
    beforeAll(async () => {
      notice = await contractNotice('slack');
    });
    async function send(mode: Trickle) {
      const trickler = await peer(mode);
      const c = createSlackChannel({ timeoutMs: TRICKLE_DEADLINE_MS, allowPrivateTargets: true, resolveHost: systemResolveHost });
      closers.push(() => c.close());
      const target = { id: 'rcpt_1', type: 'slack' as const, channel_id: 'C0TEST01', token: 'xoxb-0123456789', api_url: `http://127.0.0.1:${trickler.port}/api/` };
      return failure(() => c.send(notice, target, signal()));
    }

    it('gives up on a Slack that answers 200 and trickles its body, at the deadline, as the destination being unavailable', async () => {
      const { err, ms } = await send(endless200('application/json'));
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(err.message).toMatch(/did not answer in time/);
      expect(ms).toBeGreaterThanOrEqual(TRICKLE_DEADLINE_MS - 50);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
    });

    it('gives up on a Slack that keeps saying 102 Processing, at the deadline', async () => {
      const processing = 'HTTP/1.1 102 Processing\r\n\r\n';
      const { err, ms } = await send({ drip: processing, bytes: processing.length, everyMs: DRIP_MS });
      expect(err).toBeInstanceOf(DestinationUnavailableError);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
    });
  });

  describe('email', () => {
    it('gives up on a relay that greets and then trickles its EHLO answer, at the deadline', async () => {
      // Every byte renews nodemailer's socket timeout; only the send's own deadline ends it.
      const relay = await peer({ greeting: '220 relay.test ESMTP\r\n', drip: '250-trickle\r\n', everyMs: DRIP_MS });
      const c = createEmailChannel({ smtpUrls: [`smtp://127.0.0.1:${relay.port}?ignoreTLS=true`], from: 'ACME Security <security@acme.example>', publicUrl: 'http://127.0.0.1:1', concurrency: 1, timeoutMs: TRICKLE_DEADLINE_MS });
      closers.push(() => c.close());
      const notice = await contractNotice('email');
      const { err, ms } = await failure(() => c.send(notice, { id: 'rcpt_1', type: 'email', address: 'ops@example.org', unsubscribe_token: 't1' }, signal()));
      expect(err).toBeInstanceOf(TransientDeliveryError);
      expect(err.message).toMatch(/no relay took the message: relay 1/);
      expect(ms).toBeGreaterThanOrEqual(TRICKLE_DEADLINE_MS - 50);
      expect(ms).toBeLessThan(TRICKLE_DEADLINE_MS + MARGIN_MS);
      await eventually(async () => relay.open() === 0, MARGIN_MS, 'the trickled connection closed');
    });
  });

  describe('tocsin publish (CLI)', () => {
    it('gives up on a server that never answers after --timeout, saying so', async () => {
      const hung = await peer();
      const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-timeout-'));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      await writeFile(path.join(dir, 'a.json'), '{}');
      await writeFile(path.join(dir, 'a.json.asc'), 'not a signature: the server never reads it');
      const started = Date.now();
      const r = await runCli(['publish', path.join(dir, 'a.json'), '--sig', path.join(dir, 'a.json.asc'), '--url', `http://127.0.0.1:${hung.port}`, '--timeout', '1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/did not answer within 1 s/);
      expect(Date.now() - started).toBeLessThan(1_000 + 5_000);
      expect(hung.requests()).toBe(1);
    });
  });
});
