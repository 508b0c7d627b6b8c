import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { freePort } from '../support/free-port';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const SLACK_TOKEN = 'xoxb-operators-0123456789';
const MASTODON_TOKEN = 'good-token-0123456789';

/** Recipients and advisories from a terminal, with the built CLI, as the security team drives it. */
describe('tocsin recipients and advisories, as operators use them', () => {
  let dir: string;
  const publisher = useGpgPublisher('ops@example.org');
  let partner: Receiver;
  let slack: FakeSlack;
  let mastodon: FakeMastodon;
  let smtp: SmtpSink;
  /** The server from TOCSIN_URL and the admin token: what an operator exports once. */
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-operators-'));
    smtp = await startSmtpSink();
    partner = await startReceiver();
    slack = await startFakeSlack();
    mastodon = await startFakeMastodon({ tokens: [MASTODON_TOKEN] });
  });
  // Hooks run in the order they are declared: the peers go before tocsin closes, the directory after.
  afterAll(async () => {
    await partner?.close();
    await slack?.close();
    await mastodon?.close();
    await smtp?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'tocsin@example.org' } }));
  beforeAll(() => {
    env = { TOCSIN_URL: tocsin.url, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    const pkg = JSON.parse(await readFile(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('adds, lists, shows and removes recipients of every channel, for humans and for scripts', async () => {
    // A generated webhook secret is printed this once.
    const webhook = await runCli(['recipients', 'add', 'webhook', partner.url('/ops'), '--description', 'Partner A'], env);
    expect(webhook.code).toBe(0);
    const added = /^added (rcpt_[0-9a-f]+): webhook (\S+)$/m.exec(webhook.stdout);
    expect(added?.[2]).toBe(partner.url('/ops'));
    const webhookId = added![1]!;
    expect(webhook.stdout).toMatch(/^secret: whsec_[A-Za-z0-9+/=]+$/m);
    expect(webhook.stdout).toContain('shown this once');

    // Secrets come from files, never argv; one the admin supplied is not echoed.
    const secretFile = path.join(dir, 'webhook-secret');
    await writeFile(secretFile, `whsec_${Buffer.alloc(32, 7).toString('base64')}\n`);
    const withSecret = await runCli(['recipients', 'add', 'webhook', partner.url('/own-secret'), '--secret-file', secretFile, '--json'], env);
    expect(withSecret.code).toBe(0);
    const withSecretAnswer = JSON.parse(withSecret.stdout) as Record<string, unknown>;
    expect(withSecretAnswer).toMatchObject({ type: 'webhook', url: partner.url('/own-secret') });
    expect(withSecretAnswer).not.toHaveProperty('secret');

    const email = await runCli(['recipients', 'add', 'email', 'soc@partner.example', '--json'], env);
    expect(email.code).toBe(0);
    const emailId = (JSON.parse(email.stdout) as { id: string }).id;

    const tokenFile = path.join(dir, 'slack-token');
    await writeFile(tokenFile, `${SLACK_TOKEN}\n`);
    const slackAdd = await runCli(['recipients', 'add', 'slack', 'C0OPS123', '--token-file', tokenFile, '--api-url', slack.apiUrl, '--description', 'SOC channel'], env);
    expect(slackAdd.code).toBe(0);
    const slackId = /^added (rcpt_[0-9a-f]+): slack C0OPS123 via /m.exec(slackAdd.stdout)![1]!;
    expect(slackAdd.stdout).not.toContain(SLACK_TOKEN);
    // What the file holds is what is sent: a file without a Slack token is refused, naming `token`.
    const badTokenFile = path.join(dir, 'not-a-token');
    await writeFile(badTokenFile, 'hunter2\n');
    const badToken = await runCli(['recipients', 'add', 'slack', 'C0OPS123', '--token-file', badTokenFile, '--api-url', slack.apiUrl], env);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('"field":"token"');

    const mastodonTokenFile = path.join(dir, 'mastodon-token');
    await writeFile(mastodonTokenFile, MASTODON_TOKEN);
    const mastodonAdd = await runCli(['recipients', 'add', 'mastodon', mastodon.url, '--access-token-file', mastodonTokenFile, '--json'], env);
    expect(mastodonAdd.code).toBe(0);
    const mastodonId = (JSON.parse(mastodonAdd.stdout) as { id: string }).id;

    const listed = await runCli(['recipients', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+TYPE\s+TARGET\s+CREATED\s+TLP\s+GROUPS\s+STATUS\s+DESCRIPTION$/m);
    expect(listed.stdout).toMatch(new RegExp(`^${webhookId}\\s+webhook\\s+${partner.url('/ops').replace(/[.]/g, '\\.')}\\s+\\S+\\s+CLEAR\\s+-\\s+active\\s+Partner A$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${emailId}\\s+email\\s+soc@partner\\.example`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${slackId}\\s+slack\\s+C0OPS123 via .*SOC channel$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${mastodonId}\\s+mastodon\\s+`, 'm'));
    for (const secret of [SLACK_TOKEN, MASTODON_TOKEN, 'whsec_']) expect(listed.stdout).not.toContain(secret);
    const listedJson = await runCli(['recipients', 'list', '--json'], env);
    expect(JSON.parse(listedJson.stdout)).toEqual((await tocsin.admin('GET', '/v1/recipients')).json);

    const shown = await runCli(['recipients', 'show', slackId], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^channel_id:\s+C0OPS123$/m);
    expect(shown.stdout).toMatch(/^description:\s+SOC channel$/m);
    expect(shown.stdout).not.toContain(SLACK_TOKEN);
    const shownJson = await runCli(['recipients', 'show', slackId, '--json'], env);
    expect(JSON.parse(shownJson.stdout)).toEqual((await tocsin.admin('GET', `/v1/recipients/${slackId}`)).json);

    const removed = await runCli(['recipients', 'remove', webhookId], env);
    expect(removed.code).toBe(0);
    expect(removed.stdout.trim()).toBe(`removed ${webhookId}`);
    const removedJson = await runCli(['recipients', 'remove', slackId, '--json'], env);
    expect(JSON.parse(removedJson.stdout)).toEqual({ id: slackId, removed: true });
    expect((await tocsin.admin('GET', `/v1/recipients/${webhookId}`)).status).toBe(404);
    const gone = await runCli(['recipients', 'show', webhookId], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('404');
    expect(gone.stderr).toContain('not_found');
  });

  it('says why the server refused, and tells bad usage apart (exit 2)', async () => {
    const refused = await runCli(['recipients', 'add', 'webhook', 'ftp://partner.example/hook'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"field":"url"');
    expect(refused.stderr).toContain('400');

    const noToken = await runCli(['recipients', 'list'], { TOCSIN_URL: tocsin.url, TOCSIN_ADMIN_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('TOCSIN_ADMIN_TOKEN');
    const noServer = await runCli(['recipients', 'list'], { TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, TOCSIN_URL: '' });
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain('TOCSIN_URL');
    const noTokenFile = await runCli(['recipients', 'add', 'slack', 'C0OPS123'], env);
    expect(noTokenFile.code).toBe(2);
    expect(noTokenFile.stderr).toContain('--token-file');
    const missingFile = await runCli(['recipients', 'add', 'mastodon', mastodon.url, '--access-token-file', path.join(dir, 'nope')], env);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain('ENOENT');
    const badRevision = await runCli(['advisories', 'show', 'X-1', '--revision', '0x1'], env);
    expect(badRevision.code).toBe(2);
    expect(badRevision.stderr).toContain('--revision');
  });

  it('--url wins over TOCSIN_URL, for the existing commands too', async () => {
    // TOCSIN_URL names a port nothing listens on: only --url can make these work.
    const down = `http://127.0.0.1:${await freePort()}/`;
    const elsewhere = { ...env, TOCSIN_URL: down };
    const list = await runCli(['recipients', 'list', '--url', tocsin.url, '--json'], elsewhere);
    expect(list.code).toBe(0);
    const deadLetters = await runCli(['deliveries', 'list', '--failed', '--json', '--url', tocsin.url], elsewhere);
    expect(deadLetters.code).toBe(0);
    // And TOCSIN_URL alone serves the commands that needed --url before.
    const publishers = await runCli(['publishers', 'list', '--json'], env);
    expect(publishers.code).toBe(0);
    expect((JSON.parse(publishers.stdout) as { publishers: { fingerprint: string }[] }).publishers.map((p) => p.fingerprint)).toContain(publisher.fingerprint);
    const unreachable = await runCli(['recipients', 'list'], elsewhere);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim()).toBe(`cannot reach ${down}v1/recipients: ECONNREFUSED`);
  });

  it('lists advisories and shows one, whole or by revision', async () => {
    const id = uniqueId('OPSADV');
    const document = documentText(sampleAdvisory({ id, title: 'Heap overflow in acme-proxy' }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);

    const listed = await runCli(['advisories', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+REV\s+SEVERITY\s+KIND\s+ACCEPTED\s+TITLE$/m);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+1\\s+critical\\s+advisory\\s+\\S+\\s+Heap overflow in acme-proxy$`, 'm'));
    const listedJson = await runCli(['advisories', 'list', '--json'], { TOCSIN_URL: tocsin.url });
    expect(JSON.parse(listedJson.stdout)).toEqual((await tocsin.call('GET', '/v1/advisories')).json);

    const shown = await runCli(['advisories', 'show', id], { TOCSIN_URL: tocsin.url });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^title:\s+Heap overflow in acme-proxy$/m);
    expect(shown.stdout).toMatch(/^revision:\s+1 \(revisions: 1\)$/m);
    expect(shown.stdout).toMatch(new RegExp(`^signed by:\\s+${tocsin.api.broadcaster.fingerprint}$`, 'm'));
    expect(shown.stdout).toContain(document);
    const byRevision = await runCli(['advisories', 'show', id, '--revision', '1', '--json'], { TOCSIN_URL: tocsin.url });
    expect(JSON.parse(byRevision.stdout)).toEqual((await tocsin.call('GET', `/v1/advisories/${id}?revision=1`)).json);
    const noSuchRevision = await runCli(['advisories', 'show', id, '--revision', '2'], { TOCSIN_URL: tocsin.url });
    expect(noSuchRevision.code).toBe(1);
    expect(noSuchRevision.stderr).toContain('404');
  });
});
