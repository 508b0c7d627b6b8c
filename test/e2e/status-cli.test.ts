import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { createGpgPublisher, gpgVerify, type GpgPublisher } from '../support/gpg';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

/**
 * `tocsin status post`: one command, typed during an outage, composes the update, has gpg sign it
 * with the publisher's key, and publishes it; the next one becomes the next revision by itself.
 */
describe('tocsin status post', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let cwd: string;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], workers: false });
    cwd = await mkdtemp(path.join(tmpdir(), 'status-cli-'));
  });
  afterAll(async () => {
    await tocsin?.close();
    await publisher?.dispose();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  const post = (args: string[]) => runCli(['status', 'post', '--url', tocsin.url, '--sign', publisher.fingerprint, ...args], { GNUPGHOME: publisher.home }, cwd);

  it('opens, updates and resolves an incident, each update a gpg-signed revision the server accepted', async () => {
    const incident = uniqueId('relay').toLowerCase();
    const first = await post(['--incident', incident, '--state', 'investigating', '--title', 'Mail relay down', '--summary', 'Email notices are delayed.', '--affected-service', 'mail relay', '--next-update-by', '2099-01-01T00:00:00Z']);
    expect(first).toMatchObject({ code: 0 });
    expect(JSON.parse(first.stdout)).toMatchObject({ id: incident, revision: 1, kind: 'status', status: 'accepted' });

    // The public read shows revision 1 once accepted; the next post takes revision 2 by itself.
    await eventually(async () => (await tocsin.call('GET', `/v1/advisories/${incident}`)).status === 200 || undefined, 5_000, 'revision 1 readable');
    const second = await post(['--incident', incident, '--state', 'resolved', '--title', 'Mail relay restored', '--summary', 'All notices sent.']);
    expect(second).toMatchObject({ code: 0 });
    expect(JSON.parse(second.stdout)).toMatchObject({ id: incident, revision: 2, status: 'accepted' });

    const document = await readFile(path.join(cwd, `${incident}-2.json`), 'utf8');
    expect(JSON.parse(document)).toMatchObject({ id: incident, incident, kind: 'status', state: 'resolved', revision: 2 });
    expect((await gpgVerify(publisher.armoredPublicKey, document, await readFile(path.join(cwd, `${incident}-2.json.asc`), 'utf8'))).ok).toBe(true);
  });

  it('refuses a bad update before signing anything, naming the field', async () => {
    const incident = uniqueId('bad').toLowerCase();
    const r = await post(['--incident', incident, '--state', 'resolved', '--title', 'Done', '--summary', 'Fixed.', '--next-update-by', '2099-01-01T00:00:00Z']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('document.next_update_by');
    expect((await tocsin.call('GET', `/v1/advisories/${incident}`)).status).toBe(404);
    const state = await post(['--incident', incident, '--state', 'panicking', '--title', 'x', '--summary', 'y']);
    expect(state.code).not.toBe(0);
    expect(state.stderr).toMatch(/--state/);
  });
});
