import { systemResolveHost } from '../../src/net/resolve-host';
import type { Notice } from '../../src/channels/channel';
import { DestinationUnavailableError } from '../../src/channels/delivery-errors';
import { createSlackChannel, type SlackTarget } from '../../src/channels/slack';
import { contractNotice } from '../contract/contract-notice';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions, type SlackScript } from '../support/fake-slack';

/**
 * A retry's look at the channel history, through the real Web API client against the fake Slack:
 * a message Slack made but whose answer was lost is found and not posted twice; a lookup Slack
 * refuses still posts; a first attempt never looks.
 */
describe('Slack retry lookup', () => {
  const TOKEN = 'xoxb-lookup-secret-5555';
  const CHANNEL = 'C0LOOK01';
  const fakes: FakeSlack[] = [];
  const closers: (() => Promise<void>)[] = [];
  let notice: Notice;

  beforeAll(async () => {
    notice = await contractNotice('slack');
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function fake(script: SlackScript, options: FakeSlackOptions = {}) {
    const f = await startFakeSlack(script, options);
    fakes.push(f);
    return f;
  }
  function channel(timeoutMs = 5_000, warnings: unknown[][] = []) {
    const c = createSlackChannel({ timeoutMs, allowPrivateTargets: true, resolveHost: systemResolveHost, log: { warn: (...args: unknown[]) => warnings.push(args) } });
    closers.push(() => c.close());
    return c;
  }
  const target = (f: FakeSlack): SlackTarget => ({ id: 'rcpt_lookup', type: 'slack', channel_id: CHANNEL, token: TOKEN, api_url: f.apiUrl });
  const signal = () => new AbortController().signal;
  const lookups = (f: FakeSlack) => f.historyCalls.filter((c) => c.token === TOKEN);
  const failed = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

  it('finds the message a 500 hid, and does not post it again', async () => {
    const f = await fake((n) => (n === 0 ? { status: 500, commit: true } : { ok: true }));
    const c = channel();
    expect(await failed(c.send(notice, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    expect(f.messagesIn(CHANNEL)).toHaveLength(1);
    expect(lookups(f)).toHaveLength(0);

    const receipt = await c.send(notice, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toMatch(/^found already posted to C0LOOK01 at ts \d+\.\d+; not posted again$/);
    expect(f.calls).toHaveLength(1);
    expect(f.messagesIn(CHANNEL)).toHaveLength(1);
    const [lookup] = lookups(f);
    expect(lookup).toBeDefined();
    expect(lookup!.args).toMatchObject({ channel: CHANNEL, include_all_metadata: 'true' });
    // Read back only to shortly before the notice was accepted.
    expect(Number(lookup!.args.oldest)).toBeGreaterThan(Date.parse(notice.acceptedAt) / 1000 - 600);
    expect(Number(lookup!.args.oldest)).toBeLessThan(Date.parse(notice.acceptedAt) / 1000);
  });

  it('finds the message a timeout hid, when the retry runs in another worker', async () => {
    const f = await fake((n) => (n === 0 ? { hang: true, commit: true } : { ok: true }));
    // The first worker gave up waiting; the retry may land on any worker.
    expect(await failed(channel(300).send(notice, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    const receipt = await channel().send(notice, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toContain('found already posted');
    expect(f.calls).toHaveLength(1);
    expect(f.messagesIn(CHANNEL)).toHaveLength(1);
  });

  it('pages back through a busy channel to find it', async () => {
    const f = await fake((n) => (n === 0 ? { status: 500, commit: true } : { ok: true }));
    const c = channel();
    expect(await failed(c.send(notice, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    // Others speak in the channel before the retry: more than one page of history.
    for (let i = 0; i < 250; i++) {
      await fetch(`${f.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-someone-else-0000' },
        body: new URLSearchParams({ channel: CHANNEL, text: `chatter ${i}` }).toString(),
      });
    }
    const receipt = await c.send(notice, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toContain('found already posted');
    expect(lookups(f)).toHaveLength(2);
    expect(lookups(f)[1]!.args.cursor).toBeTruthy();
    expect(f.messagesIn(CHANNEL)).toHaveLength(251);
  });

  it('posts on retry when the earlier attempt never reached Slack, past messages of other notices', async () => {
    const f = await fake((n) => (n === 1 ? { status: 500 } : { ok: true }));
    const c = channel();
    const other: Notice = { ...notice, messageId: 'msg_another_notice', payload: notice.payload.replace(notice.messageId, 'msg_another_notice') };
    await c.send(other, target(f), signal());
    expect(await failed(c.send(notice, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    const receipt = await c.send(notice, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toMatch(/^posted to C0LOOK01/);
    expect(lookups(f)).toHaveLength(1);
    const ids = f.messagesIn(CHANNEL).map((m) => (m.metadata as { event_payload: { message_id: string } }).event_payload.message_id);
    expect(ids).toEqual(['msg_another_notice', notice.messageId]);
  });

  it('still posts when the token may not read the history (missing_scope), and warns once', async () => {
    const f = await fake((n) => (n === 0 ? { status: 500, commit: true } : { ok: true }), { withoutHistoryScope: [TOKEN] });
    const warnings: unknown[][] = [];
    const c = channel(5_000, warnings);
    expect(await failed(c.send(notice, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    const receipt = await c.send(notice, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toMatch(/^posted to C0LOOK01/);
    await c.send(notice, target(f), signal(), { attempt: 3 });
    // At-least-once, as before the lookup existed: the lost answer's message stays, doubled.
    expect(f.messagesIn(CHANNEL)).toHaveLength(3);
    expect(lookups(f)).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toMatchObject({ channel: 'slack', recipient: 'rcpt_lookup', reason: 'missing_scope', advisory: 'CONTRACT-1', revision: 1 });
    expect(JSON.stringify(warnings)).not.toContain(TOKEN);
  });

  it('still posts when the lookup itself fails (HTTP 500 on conversations.history)', async () => {
    const f = await fake((n) => (n === 0 ? { status: 500, commit: true } : { ok: true }), { historyDown: true });
    const c = channel();
    expect(await failed(c.send(notice, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    const receipt = await c.send(notice, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toMatch(/^posted to C0LOOK01/);
    expect(lookups(f)).toHaveLength(1);
    expect(f.messagesIn(CHANNEL)).toHaveLength(2);
  });
});
