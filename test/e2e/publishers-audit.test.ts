import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { ADMIN_TOKEN, startTocsin, type Tocsin } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';

const run = promisify(execFile);

/** gpg in a throwaway home, optionally pretending to be at another time. */
function gpgIn(home: string, fakedTime?: string) {
  return (...args: string[]) =>
    run('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...(fakedTime ? ['--faked-system-time', `${fakedTime}!`] : []), ...args]);
}

describe('publisher enrolment through the admin API and CLI, and the audit log behind it', () => {
  let dir: string;
  const founder = useGpgPublisher('founder@example.org');
  const newcomer = useGpgPublisher('newcomer@example.org');
  const tocsin = useTocsin(() => ({ publishers: [founder.armoredPublicKey], workers: false }));
  const admin = (actor?: string) => ({ authorization: `Bearer ${ADMIN_TOKEN}`, ...(actor ? { 'x-tocsin-actor': actor } : {}) });
  const cliEnv = () => ({ TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, TOCSIN_DATA_DIR: tocsin.config.dataDir, TOCSIN_KEYS_DIR: tocsin.config.keysDir });
  const auditFile = () => path.join(tocsin.config.dataDir, 'audit.jsonl');
  const auditLines = async () => (await readFile(auditFile(), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-audit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function publishAs(p: GpgPublisher) {
    const document = documentText(sampleAdvisory({ id: uniqueId(), severity: 'low' }));
    return tocsin.call('POST', '/v1/advisories', { document, signatures: [await p.sign(document)] });
  }

  it('records a key found in the keys directory at start as enrolled by "filesystem"', async () => {
    expect(await auditLines()).toEqual([expect.objectContaining({ seq: 1, actor: 'filesystem', action: 'enrol', fingerprint: founder.fingerprint })]);
  });

  it('refuses an enrolment without an actor, or with the reserved one, naming the header', async () => {
    const none = await tocsin.call('POST', '/v1/publishers', { key: newcomer.armoredPublicKey }, admin());
    expect(none.status).toBe(400);
    expect(none.json.error).toMatchObject({ code: 'invalid_actor', fields: [{ field: 'X-Tocsin-Actor' }] });
    const reserved = await tocsin.call('POST', '/v1/publishers', { key: newcomer.armoredPublicKey }, admin('filesystem'));
    expect(reserved.status).toBe(400);
    const noToken = await tocsin.call('POST', '/v1/publishers', { key: newcomer.armoredPublicKey }, { 'x-tocsin-actor': 'alice' });
    expect(noToken.status).toBe(401);
  });

  it('refuses secret, expired, revoked and sign-less keys with 400 naming `key`, and a second enrolment with 409', async () => {
    const secret = (await gpgIn(founder.home)('--armor', '--export-secret-keys', founder.fingerprint)).stdout;

    const oldHome = await mkdtemp(path.join(dir, 'old-'));
    await gpgIn(oldHome, '20200101T000000')('--quick-gen-key', 'Old <old@example.org>', 'ed25519', 'sign', '30d');
    const expired = (await gpgIn(oldHome)('--armor', '--export', 'old@example.org')).stdout;

    const certHome = await mkdtemp(path.join(dir, 'cert-'));
    await gpgIn(certHome)('--quick-gen-key', 'Cert Only <cert@example.org>', 'ed25519', 'cert', '1y');
    const certOnly = (await gpgIn(certHome)('--armor', '--export', 'cert@example.org')).stdout;

    const revokedPublisher = await createGpgPublisher('revoked@example.org');
    const revs = path.join(revokedPublisher.home, 'openpgp-revocs.d');
    const [certFile] = await readdir(revs);
    await writeFile(path.join(dir, 'revoke.asc'), (await readFile(path.join(revs, certFile!), 'utf8')).replace(/^:-----BEGIN/m, '-----BEGIN'));
    await gpgIn(revokedPublisher.home)('--import', path.join(dir, 'revoke.asc'));
    const revoked = (await gpgIn(revokedPublisher.home)('--armor', '--export', revokedPublisher.fingerprint)).stdout;
    await revokedPublisher.dispose();
    for (const home of [oldHome, certHome]) await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);

    const cases: [string, string, RegExp][] = [
      ['secret', secret, /secret key/],
      ['expired', expired, /expired/],
      ['revoked', revoked, /revoked/],
      ['cert-only', certOnly, /can sign/],
      ['garbage', 'hello', /not an armored OpenPGP key/],
    ];
    for (const [what, key, reason] of cases) {
      const r = await tocsin.call('POST', '/v1/publishers', { key }, admin('alice'));
      expect({ what, status: r.status, code: r.json.error.code, field: r.json.error.fields[0].field }).toEqual({ what, status: 400, code: 'invalid_key', field: 'key' });
      expect(r.json.error.fields[0].message).toMatch(reason);
    }
    const duplicate = await tocsin.call('POST', '/v1/publishers', { key: founder.armoredPublicKey }, admin('alice'));
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error.code).toBe('already_enrolled');
    // Nothing refused reached the audit log.
    expect(await auditLines()).toHaveLength(1);
  });

  it('enrols with `tocsin publishers add` and removes with `tocsin publishers remove`, each effective at once and audited', async () => {
    expect((await publishAs(newcomer)).status).toBe(401);
    const keyFile = path.join(dir, 'newcomer.asc');
    await writeFile(keyFile, newcomer.armoredPublicKey);

    const added = await runCli(['publishers', 'add', keyFile, '--actor', 'alice@example.org', '--url', tocsin.url], cliEnv());
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ fingerprint: newcomer.fingerprint, status: 'valid', audit: { seq: 2, actor: 'alice@example.org', action: 'enrol' } });
    // No 30-second reload needed.
    expect((await publishAs(newcomer)).status).toBe(202);

    const listed = await runCli(['publishers', 'list', '--url', tocsin.url], cliEnv());
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${newcomer.fingerprint}  valid  Test Publisher <newcomer@example.org>`);
    expect(listed.stdout).toMatch(/audit head: seq 2 [0-9a-f]{64}/);

    const removed = await runCli(['publishers', 'remove', newcomer.fingerprint, '--actor', 'bob', '--url', tocsin.url], cliEnv());
    expect(removed.code).toBe(0);
    expect((await publishAs(newcomer)).status).toBe(401);

    const noActor = await runCli(['publishers', 'remove', founder.fingerprint, '--url', tocsin.url], cliEnv());
    expect(noActor.code).not.toBe(0);
    expect((await publishAs(founder)).status).toBe(202);

    // The same through the API directly, then a key dropped in by hand and one deleted by hand.
    const viaApi = await tocsin.call('POST', '/v1/publishers', { key: newcomer.armoredPublicKey }, admin('carol'));
    expect(viaApi.status).toBe(201);
    // The 201's Location answers with the same publisher; a bad fingerprint is 400, an unknown one 404.
    const located = await tocsin.call('GET', viaApi.headers.get('location')!, undefined, admin());
    expect(located.status).toBe(200);
    expect(located.json).toEqual(expect.objectContaining({ fingerprint: newcomer.fingerprint, status: 'valid' }));
    expect((await tocsin.call('GET', `/v1/publishers/${newcomer.fingerprint.toLowerCase()}`, undefined, admin())).json.fingerprint).toBe(newcomer.fingerprint);
    expect((await tocsin.call('GET', '/v1/publishers/not-a-fingerprint', undefined, admin())).json.error.code).toBe('invalid_fingerprint');
    expect((await tocsin.call('GET', `/v1/publishers/${'0'.repeat(40)}`, undefined, admin())).status).toBe(404);
    await rm(path.join(tocsin.config.keysDir, 'publishers', `${newcomer.fingerprint}.asc`));
    await tocsin.api.maintain();
    expect((await publishAs(newcomer)).status).toBe(401);

    expect((await auditLines()).map((e) => [e.seq, e.actor, e.action, e.fingerprint])).toEqual([
      [1, 'filesystem', 'enrol', founder.fingerprint],
      [2, 'alice@example.org', 'enrol', newcomer.fingerprint],
      [3, 'bob', 'remove', newcomer.fingerprint],
      [4, 'carol', 'enrol', newcomer.fingerprint],
      [5, 'filesystem', 'remove', newcomer.fingerprint],
    ]);
  });

  describe('`tocsin audit verify`', () => {
    // A tocsin of its own with a five-entry chain, so these tests need no other test to run first.
    let audited: Tocsin;
    let good: string;
    let head: string;
    const auditedEnv = () => ({ TOCSIN_DATA_DIR: audited.config.dataDir, TOCSIN_KEYS_DIR: audited.config.keysDir });

    beforeAll(async () => {
      audited = await startTocsin({ publishers: [founder.armoredPublicKey], workers: false });
      const change = async (method: string, p: string, actor: string, body?: unknown) => {
        const r = await audited.call(method, p, body, admin(actor));
        if (r.status !== 200 && r.status !== 201) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
      };
      await change('POST', '/v1/publishers', 'alice@example.org', { key: newcomer.armoredPublicKey });
      await change('DELETE', `/v1/publishers/${newcomer.fingerprint}`, 'bob');
      await change('POST', '/v1/publishers', 'carol', { key: newcomer.armoredPublicKey });
      await change('DELETE', `/v1/publishers/${newcomer.fingerprint}`, 'dave');
      good = await readFile(path.join(audited.config.dataDir, 'audit.jsonl'), 'utf8');
      head = (JSON.parse(good.trim().split('\n').at(-1)!) as { hash: string }).hash;
    });
    afterAll(async () => {
      await audited?.close();
    });

    /** Runs verify over a copy of the log, changed by `tamper`, so the running API is undisturbed. */
    async function verifyCopy(tamper: (lines: string[]) => string, extra: string[] = []) {
      const copy = await mkdtemp(path.join(dir, 'copy-'));
      await writeFile(path.join(copy, 'audit.jsonl'), tamper(good.split('\n').slice(0, -1)));
      return runCli(['audit', 'verify', '--data-dir', copy, '--keys-dir', audited.config.keysDir, ...extra]);
    }
    const joined = (lines: string[]) => `${lines.join('\n')}\n`;
    const edit = (lines: string[], at: number, change: (e: Record<string, unknown>) => void) =>
      lines.map((l, i) => {
        if (i !== at) return l;
        const e = JSON.parse(l) as Record<string, unknown>;
        change(e);
        return JSON.stringify(e);
      });

    it('passes the untouched log and prints its head', async () => {
      const r = await runCli(['audit', 'verify'], auditedEnv());
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('OK: 5 entries');
      expect(r.stdout).toContain(`head: seq 5 ${head}`);
      expect(r.stdout).toContain(`enrolled: ${founder.fingerprint}`);
      expect((await runCli(['audit', 'verify', '--expect-head', head], auditedEnv())).code).toBe(0);
    });

    it.each([
      ['an edited actor', (l: string[]) => joined(edit(l, 1, (e) => (e.actor = 'mallory'))), /line 2: hash does not match/],
      ['an edited fingerprint', (l: string[]) => joined(edit(l, 2, (e) => (e.fingerprint = 'A'.repeat(40)))), /line 3: hash does not match/],
      ['a deleted line', (l: string[]) => joined(l.filter((_, i) => i !== 2)), /line 3: seq is 4, expected 3/],
      ['two lines swapped', (l: string[]) => joined([l[0]!, l[2]!, l[1]!, l[3]!, l[4]!]), /line 2: seq is 3, expected 2/],
      ['a torn last line', (l: string[]) => `${joined(l.slice(0, 4))}${l[4]!.slice(0, 40)}`, /line 5: truncated/],
      ['a forged hash', (l: string[]) => joined(edit(l, 3, (e) => (e.hash = 'f'.repeat(64)))), /line 4: hash does not match/],
      [
        'an edited line whose hash was recomputed',
        (l: string[]) => {
          return joined(
            edit(l, 1, (e) => {
              e.actor = 'mallory';
              e.hash = createHash('sha256').update(JSON.stringify(['tocsin-audit-v1', e.seq, e.at, e.actor, e.action, e.fingerprint, e.prev])).digest('hex');
            }),
          );
        },
        /line 3: prev does not match the hash of line 2/,
      ],
    ])('fails on %s, naming the first bad line', async (_what, tamper, message) => {
      const r = await verifyCopy(tamper);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).not.toContain('OK');
    });

    it('catches lines cut off the end with the recorded head, or by the key files they enrolled', async () => {
      const cut = await verifyCopy((l) => joined(l.slice(0, 3)), ['--expect-head', head]);
      expect(cut.code).toBe(1);
      expect(cut.stderr).toMatch(/recorded head .* is not in the chain/);
      // Without the head, the chain itself is consistent; the founder's key file is what gives it away.
      const everything = await verifyCopy(() => '');
      expect(everything.code).toBe(1);
      expect(everything.stderr).toContain(`holds ${founder.fingerprint}, which`);
    });
  });
});
