import { chmod, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log';
import { rotateBroadcasterKey } from '../../src/pgp/key-rotation';
import { auditLogPath, openAuditLog } from '../../src/publishers/audit-log';
import { createHoldStore } from '../../src/storage/hold-store';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** Every file and directory under `root` (not `root` itself, nor symlinks), by path relative to it, with its permission bits. */
async function modesUnder(root: string, skip: (relative: string) => boolean = () => false): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  async function walk(dir: string): Promise<void> {
    for (const name of await readdir(dir)) {
      const full = path.join(dir, name);
      const relative = path.relative(root, full);
      if (skip(relative)) continue;
      const s = await lstat(full);
      if (s.isSymbolicLink()) continue;
      out.set(s.isDirectory() ? `${relative}/` : relative, s.mode & 0o777);
      if (s.isDirectory()) await walk(full);
    }
  }
  await walk(root);
  return out;
}

/** The entries whose mode is not the one expected for their kind, as `path: mode` lines (none when all are right). */
function wrongModes(modes: Map<string, number>, expected: { file: number; dir: number }): string[] {
  return [...modes]
    .filter(([p, mode]) => mode !== (p.endsWith('/') ? expected.dir : expected.file))
    .map(([p, mode]) => `${p}: ${mode.toString(8)}`);
}

const PRIVATE = { file: 0o600, dir: 0o700 };

/**
 * Held documents, archived advisories, recipients and the audit log are tocsin's alone: under a
 * umask of 022, as most systems have, every file it writes under the data directory is 0600 and
 * every directory 0700, and so is the broadcaster's private key material. Public keys and the
 * mirror stay readable: they are published anyway.
 */
describe('file modes', () => {
  let umask: number;
  beforeAll(() => {
    umask = process.umask(0o022);
  });
  afterAll(() => {
    process.umask(umask);
  });

  describe('of a running tocsin', () => {
    const alice = useGpgPublisher('alice@example.org');
    const bob = useGpgPublisher('bob@example.org');
    let partner: Receiver;
    // Hooks run in the order they are declared: the partner goes before tocsin closes.
    afterAll(async () => {
      await partner?.close();
    });
    const tocsin = useTocsin(() => ({ publishers: [alice.armoredPublicKey, bob.armoredPublicKey], env: { TOCSIN_REQUIRE_SIGNATURES: 'critical:2' } }));
    beforeAll(async () => {
      partner = await startReceiver();
      await tocsin.addWebhook(partner.url());
    });

    it('writes every file under the data directory 0600 and every directory 0700: held, signed again, accepted, delivered; the mirror stays public', async () => {
      const id = uniqueId('MODES');
      const document = documentText(sampleAdvisory({ id }));
      const held = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
      expect(held.json).toMatchObject({ status: 'awaiting_signatures' });
      const accepted = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(document)] });
      expect(accepted.json).toMatchObject({ status: 'accepted' });
      await eventually(async () => partner.requests.some((r) => r.body.includes(id)), 15_000, 'the advisory to arrive');
      await tocsin.api.mirror?.idle();

      const dataDir = tocsin.config.dataDir;
      const mirror = path.relative(dataDir, tocsin.config.mirror.dir);
      // The mirror (a symlink to its current site, `.mirror.site-…` beside it) is public by design.
      const modes = await modesUnder(dataDir, (p) => p === mirror || p.startsWith(`.${mirror}.`));
      // What the path of one advisory wrote is there, so the check below is not over an empty tree.
      for (const p of ['audit.jsonl', 'recipients.jsonl', 'held/', `held/${id}/1/hold.json`, `held/${id}/1/signatures.json`, `held/${id}/1/outcome.json`, `advisories/${id}/1/record.json`, `advisories/${id}/1/broadcaster.asc`]) {
        expect([p, modes.has(p)]).toEqual([p, true]);
      }
      expect(wrongModes(modes, PRIVATE)).toEqual([]);

      const mirrorModes = await modesUnder(dataDir, (p) => !(p === mirror || p.startsWith(`.${mirror}.`)));
      expect([...mirrorModes].filter(([p]) => !p.endsWith('/')).length).toBeGreaterThan(0);
      expect([...mirrorModes].filter(([p, mode]) => !p.endsWith('/') && mode !== 0o644)).toEqual([]);
    });

    it('keeps the private keys 0600 in a 0700 directory, through a rotation; public keys and statements 0644', async () => {
      const keysDir = tocsin.config.keysDir;
      await rotateBroadcasterKey({ keysDir, passphrase: undefined, overlapDays: 30, expiresDays: 0, force: false });
      const privateModes = await modesUnder(path.join(keysDir, 'private'));
      expect([...privateModes.keys()].sort()).toEqual(['broadcaster-revocation.asc', 'broadcaster.key.asc', 'previous-revocation.asc', 'previous.key.asc']);
      expect(wrongModes(privateModes, PRIVATE)).toEqual([]);
      expect((await lstat(path.join(keysDir, 'private'))).mode & 0o777).toBe(0o700);
      // The harness wrote keys/publishers/ itself; the rest is tocsin's and public.
      const publicModes = await modesUnder(keysDir, (p) => p === 'private' || p === 'publishers');
      expect(publicModes.get('broadcaster.asc')).toBe(0o644);
      expect(publicModes.get('previous.asc')).toBe(0o644);
      expect(publicModes.get('transition.json')).toBe(0o644);
      expect([...publicModes].filter(([p, mode]) => !p.endsWith('/') && mode !== 0o644)).toEqual([]);
    });
  });

  it('tightens what an older tocsin left readable: the hold store and its directories, the audit log', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tocsin-modes-'));
    try {
      const id = 'OLD-1';
      await mkdir(path.join(dataDir, 'held', id), { recursive: true, mode: 0o755 });
      await writeFile(auditLogPath(dataDir), '', { mode: 0o644 });
      await chmod(path.join(dataDir, 'held'), 0o755);

      await createHoldStore(dataDir).create({
        hold: { id, revision: 1, kind: 'advisory', title: 't', severity: 'critical', sha256: 'a'.repeat(64), received_at: new Date().toISOString(), expires_at: new Date().toISOString(), required: 2 },
        document: 'document',
        signatures: [],
      });
      const audit = await openAuditLog(dataDir, createLogger('silent'));
      await audit.record('test', 'enrol', 'A'.repeat(40));
      await audit.close();

      const modes = await modesUnder(dataDir);
      expect(modes.has(`held/${id}/1/hold.json`)).toBe(true);
      expect(wrongModes(modes, PRIVATE)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
