import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { ADMIN_TOKEN, startTocsin, type Tocsin } from '../support/tocsin-harness';

/** Groups, TLP and filters from a terminal, with the built CLI: enrolled with a recipient, changed later, shown back. */
describe('tocsin recipients: groups, tlp and filter', () => {
  let dir: string;
  let tocsin: Tocsin;
  let env: Record<string, string>;
  let tokenFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-routing-cli-'));
    tokenFile = path.join(dir, 'mastodon-token');
    await writeFile(tokenFile, 'mastodon-token-0123456789\n');
    tocsin = await startTocsin({ workers: false });
    env = { TOCSIN_URL: tocsin.url, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN };
  });
  afterAll(async () => {
    await tocsin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const api = async (id: string) => (await tocsin.admin('GET', `/v1/recipients/${id}`)).json;
  const addWebhook = async (...options: string[]) => {
    const r = await runCli(['recipients', 'add', 'webhook', 'http://127.0.0.1:9/partner', '--json', ...options], env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as Record<string, unknown> & { id: string };
  };

  it('enrols with --group, --tlp, --product, --min-severity and --kind, and shows them in list and show', async () => {
    const added = await addWebhook('--group', 'distros', '--group', 'cert', '--tlp', 'AMBER', '--product', 'acme-server', '--product', 'pkg:npm/acme', '--min-severity', 'high', '--kind', 'advisory', '--description', 'Distro list');
    expect(added).toMatchObject({ groups: ['distros', 'cert'], tlp: 'AMBER', filter: { products: ['acme-server', 'pkg:npm/acme'], min_severity: 'high', kinds: ['advisory'] } });
    // Without the options, the server's defaults.
    const plain = await addWebhook();
    expect(plain).toMatchObject({ groups: [], tlp: 'CLEAR', filter: null });

    const listed = await runCli(['recipients', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+TYPE\s+TARGET\s+CREATED\s+TLP\s+GROUPS\s+STATUS\s+DESCRIPTION$/m);
    expect(listed.stdout).toMatch(new RegExp(`^${added.id}\\s+webhook\\s+\\S+\\s+\\S+\\s+AMBER\\s+distros,cert\\s+active\\s+Distro list$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${plain.id}\\s+webhook\\s+\\S+\\s+\\S+\\s+CLEAR\\s+-\\s+active\\s*$`, 'm'));
    expect(JSON.parse((await runCli(['recipients', 'list', '--json'], env)).stdout)).toEqual((await tocsin.admin('GET', '/v1/recipients')).json);

    const shown = await runCli(['recipients', 'show', added.id], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^groups:\s+distros, cert$/m);
    expect(shown.stdout).toMatch(/^tlp:\s+AMBER$/m);
    expect(shown.stdout).toMatch(/^filter:\s+products: acme-server, pkg:npm\/acme; min_severity: high; kinds: advisory$/m);
    const shownPlain = await runCli(['recipients', 'show', plain.id], env);
    expect(shownPlain.stdout).toMatch(/^groups:\s+-$/m);
    expect(shownPlain.stdout).toMatch(/^filter:\s+-$/m);
    expect(JSON.parse((await runCli(['recipients', 'show', added.id, '--json'], env)).stdout)).toEqual(await api(added.id));
  });

  it('updates: each of groups, tlp and filter named is replaced whole, the rest stays', async () => {
    const { id } = await addWebhook('--group', 'distros', '--product', 'acme-server', '--min-severity', 'high');
    const update = (...options: string[]) => runCli(['recipients', 'update', id, ...options], env);

    const tlp = await update('--tlp', 'GREEN');
    expect(tlp.code).toBe(0);
    expect(tlp.stdout).toMatch(new RegExp(`^updated ${id}: webhook http://127\\.0\\.0\\.1:9/partner$`, 'm'));
    expect(tlp.stdout).toMatch(/^groups:\s+distros$/m);
    expect(tlp.stdout).toMatch(/^tlp:\s+GREEN$/m);
    expect(tlp.stdout).toMatch(/^filter:\s+products: acme-server; min_severity: high$/m);

    // --group replaces the list; filter options replace the filter, the parts not named go.
    expect((await update('--group', 'cert', '--group', 'vendors', '--kind', 'mitigation')).code).toBe(0);
    expect(await api(id)).toMatchObject({ groups: ['cert', 'vendors'], tlp: 'GREEN', filter: { kinds: ['mitigation'] } });
    expect((await update('--no-groups', '--no-filter')).code).toBe(0);
    expect(await api(id)).toMatchObject({ groups: [], tlp: 'GREEN', filter: null });

    const json = await update('--tlp', 'AMBER+STRICT', '--min-severity', 'critical', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await api(id));
    expect(await api(id)).toMatchObject({ tlp: 'AMBER+STRICT', filter: { min_severity: 'critical' } });
  });

  it('tells bad usage (exit 2, nothing sent) from a refusal by the server (exit 1, naming the field)', async () => {
    const { id } = await addWebhook('--group', 'distros');
    const before = await api(id);
    for (const [args, says] of [
      [['recipients', 'update', id], 'nothing to change'],
      [['recipients', 'update', id, '--group', 'cert', '--no-groups'], '--no-groups'],
      [['recipients', 'update', id, '--no-filter', '--product', 'acme'], '--no-filter'],
      [['recipients', 'update', id, '--tlp', 'RED'], '--tlp'],
      [['recipients', 'update', id, '--kind', 'retraction'], '--kind'],
      [['recipients', 'update', id, '--min-severity', 'dire'], '--min-severity'],
      [['recipients', 'add', 'webhook', 'http://127.0.0.1:9/x', '--tlp', 'amber'], '--tlp'],
    ] as const) {
      const r = await runCli([...args], env);
      expect({ args, code: r.code, says: r.stderr.includes(says) }).toEqual({ args, code: 2, says: true });
    }
    expect(await api(id)).toEqual(before);

    const badGroup = await runCli(['recipients', 'update', id, '--group', 'Not-Lower'], env);
    expect({ code: badGroup.code, field: badGroup.stderr.includes('"field":"groups.0"') }).toEqual({ code: 1, field: true });
    const unknown = await runCli(['recipients', 'update', 'rcpt_00000000000000000000', '--tlp', 'GREEN'], env);
    expect({ code: unknown.code, notFound: unknown.stderr.includes('404') && unknown.stderr.includes('not_found') }).toEqual({ code: 1, notFound: true });
    expect(await api(id)).toEqual(before);

    // Mastodon is public: CLEAR only, said by the server, whether enrolling or updating.
    const amberMastodon = await runCli(['recipients', 'add', 'mastodon', 'http://127.0.0.1:9', '--access-token-file', tokenFile, '--tlp', 'AMBER'], env);
    expect({ code: amberMastodon.code, field: amberMastodon.stderr.includes('"field":"tlp"') }).toEqual({ code: 1, field: true });
    const mastodon = await runCli(['recipients', 'add', 'mastodon', 'http://127.0.0.1:9', '--access-token-file', tokenFile, '--group', 'public', '--json'], env);
    expect(mastodon.code).toBe(0);
    const mastodonId = (JSON.parse(mastodon.stdout) as { id: string }).id;
    const raised = await runCli(['recipients', 'update', mastodonId, '--tlp', 'GREEN'], env);
    expect({ code: raised.code, field: raised.stderr.includes('"field":"tlp"') }).toEqual({ code: 1, field: true });
    expect(await api(mastodonId)).toMatchObject({ tlp: 'CLEAR', groups: ['public'] });
  });
});
