import { runCli } from '../support/cli';
import { ADMIN_TOKEN, startTocsin, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** An operator's drill with the built CLI: start it, wait for it, read its report. */
describe('tocsin drill, as an operator uses it', () => {
  let tocsin: Tocsin;
  let live: Receiver;
  let gone: Receiver;
  const admin = { TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN };

  beforeAll(async () => {
    tocsin = await startTocsin();
    live = await startReceiver(() => ({ status: 200 }));
    gone = await startReceiver(() => ({ status: 410 }));
  });
  afterAll(async () => {
    await live?.close();
    await gone?.close();
    await tocsin?.close();
  });

  it('drill --wait follows the broadcast, prints the report and exits 3 naming the failure; drill show prints it again', async () => {
    const liveId = (await tocsin.addWebhook(live.url())).id;
    const goneId = (await tocsin.addWebhook(gone.url())).id;

    const run = await runCli(['drill', '--channels', 'webhook', '--wait', '--json', '--url', tocsin.url], admin);
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as { id: string; channels: Record<string, { recipients: number; delivered: number; failures: { recipient: string; reason: string }[] }> };
    expect(report.id).toMatch(/^drill_/);
    expect(report.channels.webhook).toMatchObject({ recipients: 2, delivered: 1, failures: [{ recipient: goneId, reason: '410' }] });
    expect(live.requests).toHaveLength(1);

    const shown = await runCli(['drill', 'show', report.id, '--url', tocsin.url], admin);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^webhook\s+2\s+1\s+1\s+0\s/m);
    expect(shown.stdout).toContain(`failed: webhook ${goneId}: 410`);
    expect(shown.stdout).not.toContain(liveId);

    const bad = await runCli(['drill', '--channels', 'webhook,fax', '--url', tocsin.url], admin);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--channels');
    const noToken = await runCli(['drill', '--url', tocsin.url]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('TOCSIN_ADMIN_TOKEN');
  });
});
