import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { CLI } from '../support/cli';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { freePort } from '../support/free-port';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { parsePrometheus, sampleValue } from '../support/prometheus-parser';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const ADMIN_TOKEN = 'logs-admin-token-no-shape-77';
const METRICS_TOKEN = 'logs-metrics-token-no-shape-88';
const KEY_PASSPHRASE = 'logs key passphrase 99';
const DEAD_RELAY_PASSWORD = 'dead-relay-password-11';
const SINK_RELAY_PASSWORD = 'sink-relay-password-22';
const SLACK_GOOD = 'xoxb-logs-good-000111';
const SLACK_BAD = 'xoxb-logs-bad-000222';
const MASTODON_GOOD = 'mastodon-good-token-333';
const MASTODON_BAD = 'mastodon-bad-token-444';

interface LogLine {
  msg: string;
  level: number;
  [key: string]: unknown;
}

/** A `tocsin` CLI child whose stdout (the JSON log) and stderr are kept whole. */
function runTocsin(verb: string, env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [CLI, verb], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = once(child, 'exit');
  return {
    out,
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

/**
 * `tocsin serve` and `tocsin worker` as separate processes at LOG_LEVEL=debug, delivering over all
 * four channels with successes, retries and permanent failures. Their stdout is the log an
 * operator gets: every delivery outcome is one line naming advisory, revision, recipient and
 * channel, and no secret (recipient secrets, tokens, SMTP passwords, the key passphrase) appears
 * anywhere in it. The worker's counts reach the API's /metrics across processes, through Redis.
 */
describe('structured logs and cross-process metrics from the CLI', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let root: string;
  let partner: Receiver;
  let slack: FakeSlack;
  let mastodon: FakeMastodon;
  let smtp: SmtpSink;
  let serve: ReturnType<typeof runTocsin> | undefined;
  let worker: ReturnType<typeof runTocsin> | undefined;
  const prefix = `t-${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tocsin-logs-'));
    await mkdir(path.join(root, 'keys', 'publishers'), { recursive: true });
    await writeFile(path.join(root, 'keys', 'publishers', 'sec.asc'), publisher.armoredPublicKey);
    partner = await startReceiver((n, req) => (req.path === '/gone' ? { status: 410 } : req.path === '/flaky' && n === 0 ? { status: 500 } : { status: 204 }));
    slack = await startFakeSlack((_n, call) => (call.args.channel === 'C0LOGSBAD' ? { ok: false, error: 'invalid_auth' } : { ok: true }));
    mastodon = await startFakeMastodon({ tokens: [MASTODON_GOOD], maxCharacters: 20_000 });
    let laterTries = 0;
    smtp = await startSmtpSink({
      login: { user: 'mailer', pass: SINK_RELAY_PASSWORD },
      onRcptTo: (address) => {
        if (address === 'bounce@example.org') return { code: 550, message: 'mailbox unavailable' };
        if (address === 'later@example.org' && laterTries++ === 0) return { code: 451, message: 'try again later' };
        return null;
      },
    });
  });
  afterAll(async () => {
    serve?.kill();
    worker?.kill();
    await Promise.all([partner?.close(), slack?.close(), mastodon?.close(), smtp?.close()]);
    await deleteRedisPrefix('redis://127.0.0.1:6379', prefix);
    await rm(root, { recursive: true, force: true });
  });

  it('logs each delivery outcome with its advisory and recipient, and no secret at all', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const env = {
      PORT: String(port),
      TOCSIN_HOST: '127.0.0.1',
      TOCSIN_QUEUE_PREFIX: prefix,
      TOCSIN_DATA_DIR: path.join(root, 'data'),
      TOCSIN_KEYS_DIR: path.join(root, 'keys'),
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_METRICS_TOKEN: METRICS_TOKEN,
      TOCSIN_KEY_PASSPHRASE: KEY_PASSPHRASE,
      TOCSIN_ALLOW_PRIVATE_TARGETS: '1',
      // The first relay is down, so every message names both relays on its way to the second.
      TOCSIN_SMTP_URLS: `smtp://dead:${DEAD_RELAY_PASSWORD}@127.0.0.1:${deadPort}?ignoreTLS=true,smtp://mailer:${SINK_RELAY_PASSWORD}@127.0.0.1:${smtp.port}?ignoreTLS=true`,
      TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>',
      TOCSIN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      TOCSIN_RETRY_BASE_MS: '100',
      TOCSIN_RETRY_MAX_MS: '400',
      LOG_LEVEL: 'debug',
    };
    serve = runTocsin('serve', env);
    worker = runTocsin('worker', env);
    await eventually(async () => serve!.out.stdout.includes('tocsin API listening') && worker!.out.stdout.includes('tocsin workers started'), 30_000, 'serve and worker started');

    const url = `http://127.0.0.1:${port}`;
    const call = async (method: string, p: string, body?: unknown, token?: string) => {
      const r = await fetch(`${url}${p}`, {
        method,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, text, json: (text.startsWith('{') ? JSON.parse(text) : null) as Record<string, any> };
    };
    // Requests carrying secrets in headers: a wrong admin token, the right one, the metrics token.
    expect((await call('GET', '/v1/recipients', undefined, 'wrong-admin-token-value-55')).status).toBe(401);
    const secrets = [ADMIN_TOKEN, METRICS_TOKEN, KEY_PASSPHRASE, DEAD_RELAY_PASSWORD, SINK_RELAY_PASSWORD, SLACK_GOOD, SLACK_BAD, MASTODON_GOOD, MASTODON_BAD, 'wrong-admin-token-value-55'];
    const enrol = async (body: Record<string, unknown>) => {
      const r = await call('POST', '/v1/recipients', body, ADMIN_TOKEN);
      expect(r.status).toBe(201);
      if (r.json.secret) secrets.push(r.json.secret as string, (r.json.secret as string).slice('whsec_'.length));
      return r.json.id as string;
    };
    for (const p of ['/ok', '/gone', '/flaky']) await enrol({ type: 'webhook', url: partner.url(p) });
    await enrol({ type: 'slack', channel_id: 'C0LOGSOK', token: SLACK_GOOD, api_url: slack.apiUrl });
    await enrol({ type: 'slack', channel_id: 'C0LOGSBAD', token: SLACK_BAD, api_url: slack.apiUrl });
    await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_GOOD });
    await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_BAD });
    for (const address of ['ok@example.org', 'bounce@example.org', 'later@example.org']) await enrol({ type: 'email', address });
    // Unsubscribe tokens are secrets too; they are only in the durable recipient log.
    for (const line of (await readFile(path.join(root, 'data', 'recipients.jsonl'), 'utf8')).split('\n').filter(Boolean)) {
      const token = (JSON.parse(line) as { recipient?: { unsubscribe_token?: string } }).recipient?.unsubscribe_token;
      if (token) secrets.push(token);
    }

    const id = uniqueId('LOGS');
    const document = documentText(sampleAdvisory({ id }));
    expect((await call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    const deliveries = await eventually(async () => {
      const r = await call('GET', `/v1/advisories/${id}/deliveries`);
      const s = r.json.summary as Record<string, number>;
      return s.delivered === 6 && s.failed === 4 ? (r.json.deliveries as { recipient: string; channel: string; state: string }[]) : undefined;
    }, 30_000, 'every recipient settled').catch(async (err: unknown) => {
      const r = await call('GET', `/v1/advisories/${id}/deliveries`);
      throw new Error(`${(err as Error).message}: ${JSON.stringify(r.json.deliveries)}`);
    });

    // The worker process's counts, served by the API process.
    const metrics = await eventually(async () => {
      const r = await call('GET', '/metrics', undefined, METRICS_TOKEN);
      const f = parsePrometheus(r.text);
      const delivered = ['webhook', 'email', 'slack', 'mastodon'].map((channel) => sampleValue(f, 'tocsin_deliveries_total', { channel, outcome: 'delivered' }));
      return delivered.join() === '2,2,1,1' ? f : undefined;
    }, 10_000, 'metrics from the worker process');
    expect(['webhook', 'email', 'slack', 'mastodon'].map((channel) => sampleValue(metrics, 'tocsin_deliveries_total', { channel, outcome: 'failed' }))).toEqual([1, 1, 1, 1]);
    expect(sampleValue(metrics, 'tocsin_delivery_retries_total', { channel: 'webhook' })).toBe(1);
    expect(sampleValue(metrics, 'tocsin_delivery_retries_total', { channel: 'email' })).toBe(1);

    expect(await worker.stop()).toBe(0);
    expect(await serve.stop()).toBe(0);
    const all = `${serve.out.stdout}${serve.out.stderr}${worker.out.stdout}${worker.out.stderr}`;
    const lines: LogLine[] = `${serve.out.stdout}${worker.out.stdout}`.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);

    // One line per outcome, each naming advisory, revision, recipient and channel.
    const outcomes = lines.filter((l) => 'outcome' in l);
    for (const l of outcomes) expect(l).toMatchObject({ advisory: id, revision: 1, recipient: expect.stringMatching(/^rcpt_/), channel: expect.any(String) });
    for (const d of deliveries) {
      const final = outcomes.filter((l) => l.recipient === d.recipient && l.outcome !== 'retry_scheduled');
      expect(final.map((l) => [l.channel, l.outcome])).toEqual([[d.channel, d.state]]);
    }
    expect(outcomes.filter((l) => l.outcome === 'retry_scheduled').map((l) => l.channel).sort()).toEqual(['email', 'webhook']);
    expect(outcomes.filter((l) => l.outcome === 'failed').map((l) => l.reason)).toEqual(['permanent', 'permanent', 'permanent', 'permanent']);
    // Every other line about this advisory names it too.
    expect(lines.filter((l) => JSON.stringify(l).includes(id)).every((l) => l.advisory === id && l.revision === 1)).toBe(true);
    expect(lines.find((l) => l.msg === 'advisory accepted and archived')).toMatchObject({ advisory: id, revision: 1 });

    // The paths that could leak were taken: relay addresses and failures are in the log...
    expect(all).toContain(`127.0.0.1:${smtp.port}`);
    expect(all).toContain('invalid_auth');
    expect(all).toContain('HTTP 401');
    // ...and no secret is, in any form.
    for (const secret of secrets) expect({ secret, found: all.includes(secret) }).toEqual({ secret, found: false });
  });
});
