import { createServer } from 'node:net';
import { WebAPIPlatformError, WebAPIRateLimitedError } from '@slack/web-api';
import type { Notice } from '../../src/channels/channel';
import { PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from '../../src/channels/delivery-errors';
import { createSlackChannel, type SlackTarget } from '../../src/channels/slack';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startFakeSlack, type FakeSlack, type SlackScript } from '../support/fake-slack';

/** The Slack channel on its own against the fake Web API: how each failure is typed for the queue. */
describe('Slack channel transport', () => {
  const fakes: FakeSlack[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    await Promise.all(fakes.map((f) => f.close()));
  });

  const TOKEN = 'xoxb-transport-secret-7777';
  const notice: Notice = {
    ref: { id: 'ACME-1', revision: 1 },
    messageId: 'msg_test',
    payload: JSON.stringify({ text: 'CRITICAL advisory', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'x', emoji: false } }], metadata: { event_type: 'tocsin_notice', event_payload: { message_id: 'msg_test', advisory: 'ACME-1', revision: 1 } } }),
    acceptedAt: new Date().toISOString(),
  };
  const target = (api_url: string): SlackTarget => ({ id: 'rcpt_1', type: 'slack', channel_id: 'C0TEST01', token: TOKEN, api_url });

  async function fake(script: SlackScript) {
    const f = await startFakeSlack(script);
    fakes.push(f);
    return f;
  }
  function channel(allowPrivateTargets = true, timeoutMs = 2_000) {
    const c = createSlackChannel({ timeoutMs, allowPrivateTargets, resolveHost: systemResolveHost });
    closers.push(() => c.close());
    return c;
  }
  async function failure(promise: Promise<unknown>): Promise<Error> {
    const err = await promise.then(() => null, (e: unknown) => e as Error);
    if (!err) throw new Error('the send succeeded');
    expect(err.message).not.toContain(TOKEN);
    return err;
  }

  it('reports the channel and ts Slack answered', async () => {
    const f = await fake(() => ({ ok: true }));
    const receipt = await channel().send(notice, target(f.apiUrl), new AbortController().signal);
    expect(receipt.detail).toMatch(/^posted to C0TEST01 at ts \d+\.\d+$/);
    expect(f.calls[0]!.headers['content-type']).toMatch(/application\/x-www-form-urlencoded/);
  });

  it('turns a 429 into RateLimitedError carrying Retry-After, without waiting itself', async () => {
    const f = await fake(() => ({ status: 429, retryAfter: 7 }));
    const started = Date.now();
    const err = await failure(channel().send(notice, target(f.apiUrl), new AbortController().signal));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7_000);
    expect(err.cause).toBeInstanceOf(WebAPIRateLimitedError);
    expect(f.calls).toHaveLength(1);
  });

  it('types revoked tokens and archived channels as permanent, unknown platform errors as transient', async () => {
    const f = await fake((n) => ({ ok: false, error: ['token_revoked', 'is_archived', 'account_inactive', 'fatal_error'][n]! }));
    const c = channel();
    for (const expected of [PermanentDeliveryError, PermanentDeliveryError, PermanentDeliveryError, TransientDeliveryError]) {
      const err = await failure(c.send(notice, target(f.apiUrl), new AbortController().signal));
      expect(err).toBeInstanceOf(expected);
      expect(err.cause).toBeInstanceOf(WebAPIPlatformError);
    }
    expect(f.calls).toHaveLength(4);
  });

  it('gives up on a Slack that does not answer within the timeout, as a transient failure', async () => {
    const f = await fake(() => ({ hang: true }));
    const started = Date.now();
    const err = await failure(channel(true, 300).send(notice, target(f.apiUrl), new AbortController().signal));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect(err.message).toMatch(/in time/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('treats a refused connection as transient', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await failure(channel().send(notice, target(`http://127.0.0.1:${port}/api/`), new AbortController().signal));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('refuses loopback API bases unless private targets are allowed, by literal and by name', async () => {
    const f = await fake(() => ({ ok: true }));
    const guarded = channel(false);
    const literal = await failure(guarded.send(notice, target(f.apiUrl), new AbortController().signal));
    expect(literal).toBeInstanceOf(PermanentDeliveryError);
    const byName = await failure(guarded.send(notice, target(f.apiUrl.replace('127.0.0.1', 'localhost')), new AbortController().signal));
    expect(byName).toBeInstanceOf(PermanentDeliveryError);
    expect(byName.message).toMatch(/loopback, private/);
    expect(f.calls).toHaveLength(0);
  });
});
