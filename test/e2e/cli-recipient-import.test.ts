import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { ADMIN_TOKEN, startTocsin, type Tocsin } from '../support/tocsin-harness';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** A list moved in and out from a terminal, with the built CLI. */
describe('tocsin recipients import and export', () => {
  let dir: string;
  let tocsin: Tocsin;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-import-cli-'));
    tocsin = await startTocsin({ workers: false, env: { TOCSIN_SMTP_URLS: 'smtp://127.0.0.1:9', TOCSIN_MAIL_FROM: 'tocsin@example.org' } });
    env = { TOCSIN_URL: tocsin.url, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN };
  });
  afterAll(async () => {
    await tocsin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const listed = async () => ((await tocsin.admin('GET', '/v1/recipients')).json.recipients as Record<string, unknown>[]).sort((a, b) => String(a.id).localeCompare(String(b.id)));

  it('imports a file all or nothing, prints each refused line as FILE:LINE: FIELD, and imports the rest with --skip-invalid', async () => {
    const file = path.join(dir, 'list.ndjson');
    await writeFile(
      file,
      [
        JSON.stringify({ type: 'webhook', url: 'http://127.0.0.1:9/a', secret: SECRET, groups: ['distros'], description: 'Partner, "A"' }),
        JSON.stringify({ type: 'email', address: 'a@example.org', consent_confirmed: true, filter: { products: ['acme;server', '=cmd'], kinds: ['advisory'] } }),
        JSON.stringify({ type: 'email', address: 'b@example.org' }),
        JSON.stringify({ type: 'slack', channel_id: 'C0123456', token: 'xoxb-1234567890-abc', tlp: 'GREEN' }),
        JSON.stringify({ type: 'mastodon', instance_url: 'http://127.0.0.1:9/', access_token: 'mastodon-token-0123' }),
      ].join('\n'),
    );
    const refused = await runCli(['recipients', 'import', file], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}:3: consent_confirmed: `);
    expect(refused.stderr).toContain('nothing was imported');
    expect(await listed()).toEqual([]);

    const skipped = await runCli(['recipients', 'import', file, '--skip-invalid'], env);
    expect({ code: skipped.code, stdout: skipped.stdout }).toEqual({ code: 0, stdout: 'imported 4, updated 0, skipped 1 line (above)\n' });
    expect(skipped.stderr).toContain(`${file}:3: consent_confirmed: `);
    expect(await listed()).toHaveLength(4);
  });

  it.each(['ndjson', 'csv'])('exports %s without secrets, and the export imports back as updates that change nothing', async (format) => {
    const before = await listed();
    const exported = await runCli(['recipients', 'export', '--format', format], env);
    expect({ code: exported.code, stderr: exported.stderr }).toEqual({ code: 0, stderr: '' });
    for (const secret of [SECRET, 'xoxb-', 'mastodon-token', 'unsubscribe_token', 'rcpt_']) expect(exported.stdout).not.toContain(secret);
    if (format === 'csv') {
      // The list item holding a ; is escaped, and the one a spreadsheet would run is defused.
      expect(exported.stdout).toContain("acme\\;server;=cmd");
      expect(exported.stdout.split('\n')[0]).toBe('type,url,address,consent_confirmed,channel_id,api_url,instance_url,description,groups,tlp,filter.products,filter.min_severity,filter.kinds');
    }
    const file = path.join(dir, `export.${format}`);
    await writeFile(file, exported.stdout);
    const again = await runCli(['recipients', 'import', file, '--json'], env);
    expect({ code: again.code, stderr: again.stderr, answer: JSON.parse(again.stdout || 'null') }).toEqual({ code: 0, stderr: '', answer: { imported: 0, updated: 4, rejected: [] } });
    expect(await listed()).toEqual(before);
  });

  it('takes an edited export: a changed field updates that recipient only', async () => {
    const exported = await runCli(['recipients', 'export', '--format', 'csv'], env);
    const file = path.join(dir, 'edited.txt');
    await writeFile(file, exported.stdout.replace('slack,,,,C0123456,https://slack.com/api/,,,,GREEN', 'slack,,,,C0123456,https://slack.com/api/,,,ops,AMBER'));
    const bad = await runCli(['recipients', 'import', file], env);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('--format') });
    const r = await runCli(['recipients', 'import', file, '--format', 'csv'], env);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'imported 0, updated 4\n' });
    const slack = (await listed()).find((x) => x.type === 'slack');
    expect(slack).toMatchObject({ groups: ['ops'], tlp: 'AMBER' });
    // The token stayed (the import had none to give): the log's last state of the channel holds it.
    const log = (await readFile(path.join(tocsin.config.dataDir, 'recipients.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { recipient?: Record<string, unknown> });
    const last = log.filter((e) => e.recipient?.type === 'slack').at(-1)!;
    expect(last.recipient).toMatchObject({ groups: ['ops'], token: 'xoxb-1234567890-abc' });
  });
});
