import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** An operator's dead-letter round trip with the built CLI: list, fix the partner, replay. */
describe('tocsin deliveries, as an operator uses it', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let flaky: Receiver;
  let gone: Receiver;
  const broken = { now: true };
  const admin = { TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN };

  // Hooks run in the order they are declared: the partners go before tocsin closes.
  afterAll(async () => {
    await flaky?.close();
    await gone?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_WEBHOOK_MAX_ATTEMPTS: '2' } }));
  beforeAll(async () => {
    flaky = await startReceiver(() => ({ status: broken.now ? 503 : 200 }));
    gone = await startReceiver(() => ({ status: 410 }));
  });

  it('lists failed deliveries and replays them with the same webhook-id', async () => {
    const flakyId = (await tocsin.addWebhook(flaky.url())).id;
    const goneId = (await tocsin.addWebhook(gone.url())).id;
    const id = uniqueId('OPS');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);

    const listed = await eventually(async () => {
      const r = await runCli(['deliveries', 'list', '--failed', '--url', tocsin.url, '--json'], admin);
      const answer = r.code === 0 ? (JSON.parse(r.stdout) as { deliveries: { recipient: string }[] }) : null;
      return answer && answer.deliveries.length === 2 ? answer : undefined;
    }, 20_000, 'two dead letters');
    expect(listed.deliveries.map((d) => d.recipient).sort()).toEqual([flakyId, goneId].sort());

    const table = await runCli(['deliveries', 'list', '--failed', '--url', tocsin.url, '--advisory', id], admin);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ADVISORY\s+REV\s+CHANNEL\s+RECIPIENT/);
    expect(table.stdout).toContain(flakyId);
    expect(table.stdout).toMatch(/HTTP 410|410/);
    const none = await runCli(['deliveries', 'list', '--failed', '--url', tocsin.url, '--channel', 'slack'], admin);
    expect(none.stdout.trim()).toBe('no failed deliveries');

    broken.now = false;
    const replay = await runCli(['deliveries', 'replay', '--url', tocsin.url, '--advisory', id, '--recipient', flakyId], admin);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('replayed 1 delivery');
    expect(replay.stdout).toContain(`${id} revision 1 webhook ${flakyId} (replay 1)`);
    await flaky.waitFor(3, 20_000);
    expect(new Set(flaky.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
    await eventually(async () => {
      const r = await runCli(['deliveries', 'list', '--failed', '--url', tocsin.url, '--advisory', id, '--json'], admin);
      return (JSON.parse(r.stdout) as { count: number }).count === 1;
    }, 20_000, 'one dead letter left');

    // Delivered now, so not replayable: the server's 409 names it, and the exit code says so.
    const refused = await runCli(['deliveries', 'replay', '--url', tocsin.url, '--advisory', id, '--recipient', flakyId], admin);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not_replayable');
    expect(refused.stderr).toContain('recipients.0');

    const all = await runCli(['deliveries', 'replay', '--url', tocsin.url, '--all-failed'], admin);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`${id} revision 1 webhook ${goneId} (replay 1)`);
    await gone.waitFor(2, 20_000);
  });

  it("lists every delivery of an advisory, delivered ones too, from the receipts; --json is the API's answer", async () => {
    const ok = await startReceiver();
    try {
      const okId = await tocsin.addWebhook(ok.url());
      const goneAgain = await tocsin.addWebhook(gone.url('/again'));
      const id = uniqueId();
      const document = documentText(sampleAdvisory({ id }));
      expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
      const answer = await eventually(async () => {
        const r = await runCli(['deliveries', 'list', '--url', tocsin.url, '--advisory', id, '--json'], admin);
        const json = JSON.parse(r.stdout) as { summary: { pending: number; retrying: number }; deliveries: { recipient: string; state: string }[] };
        return json.summary.pending === 0 && json.summary.retrying === 0 ? json : undefined;
      }, 20_000, 'every delivery settled');
      expect(answer).toEqual((await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`)).json);
      expect(answer.deliveries).toContainEqual(expect.objectContaining({ recipient: okId.id, state: 'delivered', detail: 'HTTP 204' }));

      const shown = await runCli(['deliveries', 'list', '--url', tocsin.url, '--advisory', id, '--revision', '1'], admin);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`webhook\\s+${okId.id}\\s+delivered\\s+1\\s+\\S+\\s+HTTP 204`));
      expect(shown.stdout).toMatch(new RegExp(`webhook\\s+${goneAgain.id}\\s+failed\\s+1\\s+.*410`));
      expect(shown.stdout.split('\n')[0]).toMatch(new RegExp(`^${id} revision 1: \\d+ delivered, \\d+ failed, 0 retrying, 0 pending$`));
    } finally {
      await ok.close();
    }
  });

  it("watch --sha256 follows a TLP:AMBER advisory without the admin token: the document's SHA-256 opens the read", async () => {
    const ok = await startReceiver();
    try {
      const amber = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: ok.url('/amber'), tlp: 'AMBER' });
      expect(amber.status).toBe(201);
      const id = uniqueId('AMBERWATCH');
      const document = documentText(sampleAdvisory({ id, tlp: 'AMBER' }));
      const accepted = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
      expect(accepted.status).toBe(202);
      const sha256 = accepted.json.sha256 as string;
      const anyone = { TOCSIN_ADMIN_TOKEN: '' };

      // No revision named: the digest also finds the latest, which the public read does not show.
      const watched = await runCli(['deliveries', 'watch', id, '--sha256', sha256.toUpperCase(), '--url', tocsin.url, '--interval', '0.2'], anyone);
      expect(watched.stderr).toBe('');
      expect(watched.code).toBe(0);
      expect(watched.stdout.trim().split('\n').at(-1)).toBe('delivered to all 1 recipient');
      const json = await runCli(['deliveries', 'watch', id, '--revision', '1', '--sha256', sha256, '--url', tocsin.url, '--json'], anyone);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ id, revision: 1, view: 'public', summary: { delivered: 1, pending: 0 } });
      expect(ok.requests.filter((q) => q.path === '/amber' && q.body.includes(id))).toHaveLength(1);

      // Without the digest (or with another one) it does not exist; a malformed one is bad usage.
      expect((await runCli(['deliveries', 'watch', id, '--url', tocsin.url], anyone)).code).toBe(1);
      expect((await runCli(['deliveries', 'watch', id, '--sha256', '0'.repeat(64), '--url', tocsin.url], anyone)).code).toBe(1);
      const malformed = await runCli(['deliveries', 'watch', id, '--sha256', 'abc', '--url', tocsin.url], anyone);
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toContain('64 hex digits');
      await tocsin.admin('DELETE', `/v1/recipients/${amber.json.id as string}`);
    } finally {
      await ok.close();
    }
  });

  it('says what is wrong with the command line, and needs the admin token', async () => {
    const noFlag = await runCli(['deliveries', 'list', '--url', tocsin.url], admin);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain('--failed');
    expect(noFlag.stderr).toContain('--advisory');
    const channelAlone = await runCli(['deliveries', 'list', '--url', tocsin.url, '--advisory', 'X-1', '--channel', 'slack'], admin);
    expect(channelAlone.code).toBe(2);
    expect(channelAlone.stderr).toContain('--channel needs --failed');
    const noToken = await runCli(['deliveries', 'list', '--failed', '--url', tocsin.url], { TOCSIN_ADMIN_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('TOCSIN_ADMIN_TOKEN');
    const wrongToken = await runCli(['deliveries', 'list', '--failed', '--url', tocsin.url], { TOCSIN_ADMIN_TOKEN: 'not-the-admin-token-at-all' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain('401');
    const neither = await runCli(['deliveries', 'replay', '--url', tocsin.url], admin);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/--advisory.*--all-failed/);
    const unknown = await runCli(['deliveries', 'replay', '--url', tocsin.url, '--advisory', 'NOPE-1'], admin);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404');
  });
});
