import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseMastodonInput } from '../../src/cli/inputs/mastodon-input';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { startFakeMastodon, mastodonLength, type FakeMastodon, type FakeStatus, type FakeMastodonOptions } from '../support/fake-mastodon';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { gpgVerifyCleartext, sqVerifyCleartext } from '../support/gpg-cleartext';
import { useTocsin } from '../support/use-tocsin';

const TOKEN = 'good-token-0123456789';

/** Signed advisories in, Mastodon threads out: real gpg and sq, real Redis, a loopback instance. */
describe('mastodon channel', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey] }));
  let key: string;
  let workDir: string;
  const fakes: FakeMastodon[] = [];

  beforeAll(async () => {
    key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
    workDir = await mkdtemp(path.join(tmpdir(), 'mastodon-test-'));
    await writeFile(path.join(workDir, 'broadcaster.asc'), key);
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** A fresh instance with a fresh recipient on it, so each test sees only its own statuses. */
  async function instance(options: FakeMastodonOptions = {}, token = TOKEN) {
    const fake = await startFakeMastodon({ tokens: [TOKEN], ...options });
    fakes.push(fake);
    const r = await tocsin.admin('POST', '/v1/recipients', { type: 'mastodon', instance_url: fake.url, access_token: token });
    expect(r.status).toBe(201);
    return { fake, recipient: r.json.id as string };
  }

  async function publish(overrides: Record<string, unknown> = {}) {
    const id = uniqueId('MAST');
    const document = documentText(sampleAdvisory({ id, ...overrides }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    return { id, document };
  }

  async function settled(id: string, recipient: string) {
    return eventually(async () => {
      // The admin read: `detail` (the status URL) and the full error text are not public.
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`);
      const d = (r.json.deliveries as { recipient: string; state: string; attempts: number; last_error?: string; detail?: string }[]).find((x) => x.recipient === recipient);
      return d && (d.state === 'delivered' || d.state === 'failed') ? d : undefined;
    }, 20_000, 'settled delivery');
  }

  /** The thread as a reader fetches it: the first status and its context, from the API. */
  async function readBack(fake: FakeMastodon, first: FakeStatus): Promise<unknown> {
    const status = (await (await fetch(`${fake.url}/api/v1/statuses/${first.id}`)).json()) as unknown;
    const context = (await (await fetch(`${fake.url}/api/v1/statuses/${first.id}/context`)).json()) as unknown;
    return [status, context];
  }

  async function verifyEverywhere(thread: unknown, id: string) {
    const input = parseMastodonInput(JSON.stringify(thread), thread);
    expect(input?.kind).toBe('cleartext');
    const cleartext = input!.kind === 'cleartext' ? input!.cleartext : '';
    const gpg = await gpgVerifyCleartext(key, cleartext);
    expect(gpg).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
    expect(gpg.signedText).toContain(`Advisory: ${id} revision 1`);
    const sq = await sqVerifyCleartext(key, cleartext);
    expect(sq.ok).toBe(true);
    const file = path.join(workDir, `${id}.json`);
    await writeFile(file, JSON.stringify(thread, null, 2));
    const cli = await runCli(['verify', file, '--key', path.join(workDir, 'broadcaster.asc')]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`advisory: ${id} revision 1`);
    expect(cli.stdout).toContain(`signer: ${tocsin.api.broadcaster.fingerprint}`);
    return { cleartext, gpg, cli };
  }

  it('posts a chained thread within a 500-character limit, severity in the CW, that gpg, sq and tocsin verify accept', async () => {
    const { fake, recipient } = await instance({ maxCharacters: 500 });
    const { id } = await publish();
    const d = await settled(id, recipient);
    expect(d).toMatchObject({ state: 'delivered', attempts: 1 });
    const thread = fake.statuses;
    expect(thread.length).toBeGreaterThanOrEqual(3);
    expect(d.detail).toContain(`posted ${thread.length} statuses`);
    thread.forEach((s, i) => {
      expect(mastodonLength(s._text!, s.spoiler_text)).toBeLessThanOrEqual(500);
      expect(s.spoiler_text).toBe(`CRITICAL security advisory ${id}`);
      expect(s.visibility).toBe('public');
      expect(s.in_reply_to_id).toBe(i === 0 ? null : thread[i - 1]!.id);
    });
    expect(thread[0]!._text).toContain('Remote code execution in acme-server');
    // The readable part names the key that signs, and where to fetch it, before the signed block.
    const readable = thread.map((s) => s._text).join('\n').split('-----BEGIN PGP SIGNED MESSAGE-----')[0]!;
    expect(readable).toContain(tocsin.api.broadcaster.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
    expect(readable).toContain(`${tocsin.config.publicUrl}/v1/keys/broadcaster.asc`);
    // One key per status, each sent once: no retry was needed.
    const keys = fake.posts.map((p) => p.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(thread.length);
    const { gpg } = await verifyEverywhere(await readBack(fake, thread[0]!), id);
    expect(gpg.signedText).toContain('Title: Remote code execution in acme-server');
  });

  it('posts a single status where the instance allows long ones, verifiable as the API returns it', async () => {
    const { fake, recipient } = await instance({ maxCharacters: 10_000 });
    const { id } = await publish();
    expect(await settled(id, recipient)).toMatchObject({ state: 'delivered' });
    expect(fake.statuses).toHaveLength(1);
    const status = (await (await fetch(`${fake.url}/api/v1/statuses/${fake.statuses[0]!.id}`)).json()) as unknown;
    const { cli } = await verifyEverywhere(status, id);
    expect(cli.stdout).toContain('Mastodon status');
  });

  it('continues a thread after the answer to its 2nd status was lost, without duplicates', async () => {
    let failed = false;
    const { fake, recipient } = await instance({
      maxCharacters: 500,
      onPost: (n) => {
        if (n !== 1 || failed) return undefined;
        failed = true;
        return { status: 500, error: 'Internal Server Error', commit: true };
      },
    });
    const { id } = await publish();
    const d = await settled(id, recipient);
    expect(d).toMatchObject({ state: 'delivered', attempts: 2 });
    const thread = fake.statuses;
    // The retry replayed the two statuses that exist and posted only the rest; within the keys'
    // hour it had no need to read the account's statuses first.
    expect(fake.replays).toBe(2);
    expect(fake.lookups).toHaveLength(0);
    expect(fake.posts.length).toBe(thread.length + 2);
    expect(new Set(thread.map((s) => s._text)).size).toBe(thread.length);
    thread.forEach((s, i) => expect(s.in_reply_to_id).toBe(i === 0 ? null : thread[i - 1]!.id));
    await verifyEverywhere(await readBack(fake, thread[0]!), id);
  });

  it('waits until X-RateLimit-Reset after a 429', async () => {
    const { fake, recipient } = await instance({
      maxCharacters: 10_000,
      onPost: (n) => (n === 0 ? { status: 429, error: 'Too many requests', headers: { 'X-RateLimit-Reset': new Date(Date.now() + 1_200).toISOString(), 'X-RateLimit-Remaining': '0' } } : undefined),
    });
    const { id } = await publish();
    expect(await settled(id, recipient)).toMatchObject({ state: 'delivered', attempts: 2 });
    const gap = fake.posts[1]!.at - fake.posts[0]!.at;
    // The retry schedule here is 100-400 ms, so only the reset time explains a wait of a second.
    expect(gap).toBeGreaterThanOrEqual(1_000);
  });

  it('fails at once on 401 (invalid or revoked token)', async () => {
    const { fake, recipient } = await instance({ maxCharacters: 500 }, 'revoked-token-0123456789');
    const { id } = await publish();
    const d = await settled(id, recipient);
    expect(d).toMatchObject({ state: 'failed', attempts: 1 });
    expect(d.last_error).toMatch(/401/);
    expect(d.last_error).not.toContain('revoked-token');
    expect(fake.posts).toHaveLength(1);
    expect(fake.statuses).toHaveLength(0);
  });

  it('lets no advisory text mention accounts, add hashtags or inject HTML, and still verifies', async () => {
    const { fake, recipient } = await instance({ maxCharacters: 500 });
    const { id } = await publish({
      title: 'Ping @admin@evil.example #hashtag <script>alert(1)</script>',
      summary: 'Contact @admin and @admin@evil.example now. #breaking ＃wide ＠wide\n\n-----BEGIN PGP SIGNED MESSAGE-----\nfake <img src=x onerror=alert(1)>',
      mitigations: [{ text: 'Tell _#friends (@everyone) & <b>bold</b> it.' }],
    });
    expect(await settled(id, recipient)).toMatchObject({ state: 'delivered' });
    expect(fake.statuses.length).toBeGreaterThan(1);
    for (const s of fake.statuses) {
      expect(s.mentions).toEqual([]);
      expect(s.tags).toEqual([]);
      expect(s.content).not.toMatch(/<script|<img|<b>/);
      expect(s.content).not.toContain('class="u-url mention"');
    }
    const all = fake.statuses.map((s) => s.content).join('');
    expect(all).toContain('&lt;script&gt;');
    const { gpg, cli } = await verifyEverywhere(await readBack(fake, fake.statuses[0]!), id);
    // The title is in the signature exactly as posted: neutralised, never raw.
    expect(gpg.signedText).toContain('Title: Ping @\u200Badmin@evil.example #\u200Bhashtag <script>alert(1)</script>');
    expect(cli.stdout).toContain('title: Ping @\u200Badmin@evil.example');
  });
});
