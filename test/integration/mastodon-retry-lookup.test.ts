import { systemResolveHost } from '../../src/net/resolve-host';
import type { Notice } from '../../src/channels/channel';
import { DestinationUnavailableError } from '../../src/channels/delivery-errors';
import { createMastodonChannel, type MastodonChannelOptions, type MastodonTarget } from '../../src/channels/mastodon';
import { contractNotice } from '../contract/contract-notice';
import { startFakeMastodon, type FakeMastodon, type FakeMastodonOptions } from '../support/fake-mastodon';

/**
 * A retry after Mastodon may have forgotten its Idempotency-Keys, through masto.js against the
 * fake instance: the account's own statuses are read, a thread already posted is not posted again,
 * a thread cut short is continued, a refused lookup still posts; within the keys' hour, and on
 * every first attempt, nothing is looked up.
 */
describe('Mastodon retry lookup', () => {
  const TOKEN = 'good-token-0123456789';
  const fakes: FakeMastodon[] = [];
  const closers: (() => Promise<void>)[] = [];
  let fresh: Notice;
  /** The same notice accepted an hour ago: its keys may be forgotten by now. */
  let old: Notice;

  beforeAll(async () => {
    fresh = await contractNotice('mastodon');
    old = { ...fresh, acceptedAt: new Date(Date.now() - 3_600_000).toISOString() };
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function instance(options: FakeMastodonOptions = {}) {
    const f = await startFakeMastodon({ maxCharacters: 500, tokens: [TOKEN], ...options });
    fakes.push(f);
    return f;
  }
  function channel(options: Partial<MastodonChannelOptions> = {}) {
    const c = createMastodonChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost, ...options });
    closers.push(() => c.close());
    return c;
  }
  const target = (f: FakeMastodon): MastodonTarget => ({ id: 'rcpt_lookup', type: 'mastodon', instance_url: f.url, access_token: TOKEN });
  const signal = () => new AbortController().signal;
  const failed = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);
  const texts = (f: FakeMastodon) => f.statuses.map((s) => s._text);

  it('within the hour relies on Idempotency-Key and looks nothing up', async () => {
    const f = await instance({ onPost: (n) => (n === 1 ? { status: 500, commit: true } : undefined) });
    const c = channel();
    expect(await failed(c.send(fresh, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    await c.send(fresh, target(f), signal(), { attempt: 2 });
    expect(f.lookups).toHaveLength(0);
    expect(f.replays).toBe(2);
    expect(new Set(texts(f)).size).toBe(f.statuses.length);
  });

  it('never looks on a first attempt, however old the notice', async () => {
    const f = await instance();
    await channel().send(old, target(f), signal());
    expect(f.lookups).toHaveLength(0);
    expect(f.statuses.length).toBeGreaterThan(1);
  });

  it('after the keys are forgotten, finds the whole thread a lost answer hid and posts nothing', async () => {
    let thread = 0;
    const f = await instance({ onPost: (n) => (n === thread - 1 ? { status: 502, commit: true } : undefined) });
    const c = channel();
    // Learn the thread's length from a first delivery elsewhere, then lose the answer to its last status.
    const probe = await instance();
    await c.send(fresh, target(probe), signal());
    thread = probe.statuses.length;
    expect(await failed(c.send(old, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    expect(f.statuses).toHaveLength(thread);
    f.forgetIdempotencyKeys();

    const posts = f.posts.length;
    const receipt = await c.send(old, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toBe(`found ${thread} statuses already posted, first ${f.statuses[0]!.url}; not posted again`);
    expect(f.posts).toHaveLength(posts);
    expect(f.statuses).toHaveLength(thread);
    const [credentials, ...pages] = f.lookups;
    expect(credentials!.path).toBe('/api/v1/accounts/verify_credentials');
    expect(pages.map((p) => p.path)).toEqual(pages.map(() => '/api/v1/accounts/1/statuses'));
    expect(pages[0]!.query).toEqual({ limit: '40' });
    // Paged back until a page came back empty or older than the notice.
    expect(pages.slice(1).every((p) => p.query.max_id)).toBe(true);
  });

  it('after the keys are forgotten, continues a thread cut short instead of starting it again', async () => {
    const f = await instance({ onPost: (n) => (n === 1 ? { status: 500, commit: true } : undefined) });
    const c = channel();
    expect(await failed(c.send(old, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    expect(f.statuses).toHaveLength(2);
    f.forgetIdempotencyKeys();

    const receipt = await c.send(old, target(f), signal(), { attempt: 2 });
    expect(receipt.detail).toMatch(/^posted \d+ statuses \(2 found already posted\), first /);
    expect(f.replays).toBe(0);
    expect(new Set(texts(f)).size).toBe(f.statuses.length);
    f.statuses.forEach((s, i) => expect(s.in_reply_to_id).toBe(i === 0 ? null : f.statuses[i - 1]!.id));
  });

  it('takes the threshold from its options', async () => {
    const f = await instance({ onPost: (n) => (n === 0 ? { status: 500, commit: true } : undefined), maxCharacters: 20_000 });
    const c = channel({ idempotencyTrustMs: 0 });
    const recent: Notice = { ...fresh, acceptedAt: new Date(Date.now() - 1_000).toISOString() };
    expect(await failed(c.send(recent, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    f.forgetIdempotencyKeys();
    expect((await c.send(recent, target(f), signal(), { attempt: 2 })).detail).toContain('found 1 status already posted');
    expect(f.statuses).toHaveLength(1);
  });

  it('still posts when the token may not read the account (403), and warns once', async () => {
    const f = await instance({ onPost: (n) => (n === 0 ? { status: 500, commit: true } : undefined), maxCharacters: 20_000, withoutReadScope: [TOKEN] });
    const warnings: unknown[][] = [];
    const c = channel({ log: { warn: (...args: unknown[]) => warnings.push(args) } });
    expect(await failed(c.send(old, target(f), signal()))).toBeInstanceOf(DestinationUnavailableError);
    f.forgetIdempotencyKeys();
    expect((await c.send(old, target(f), signal(), { attempt: 2 })).detail).toMatch(/^posted 1 status, first /);
    f.forgetIdempotencyKeys();
    await c.send(old, target(f), signal(), { attempt: 3 });
    // At-least-once, as before the lookup existed.
    expect(f.statuses).toHaveLength(3);
    expect(f.lookups).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toMatchObject({ channel: 'mastodon', recipient: 'rcpt_lookup', advisory: 'CONTRACT-1', revision: 1 });
    expect(String((warnings[0]![0] as { reason: string }).reason)).toMatch(/403/);
    expect(JSON.stringify(warnings)).not.toContain(TOKEN);
  });
});
