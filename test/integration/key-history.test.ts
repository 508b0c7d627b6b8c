import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { createBroadcasterKey, loadBroadcasterKey } from '../../src/pgp/broadcaster-key';
import { describeRevocation, readKeyHistory, retiredKeyPaths } from '../../src/pgp/key-history';
import { publishRevocation } from '../../src/pgp/key-revocation';
import { rotateBroadcasterKey } from '../../src/pgp/key-rotation';

/** The key history a keys directory remembers, read from real keys, rotations and a revocation. */
describe('readKeyHistory', () => {
  let dir: string;
  const fpr = { a: '', b: '', c: '' };
  const rotate = () => rotateBroadcasterKey({ keysDir: dir, passphrase: undefined, overlapDays: 0, expiresDays: 0, force: false });
  const history = async () => readKeyHistory(dir, await loadBroadcasterKey(dir, undefined));

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-key-history-'));
    fpr.a = (await createBroadcasterKey({ keysDir: dir, email: 'tocsin@example.org', passphrase: undefined })).fingerprint;
    fpr.b = (await rotate()).newFingerprint;
    fpr.c = (await rotate()).newFingerprint;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps every retired key after two rotations, though previous.asc holds only the last', async () => {
    const h = await history();
    expect(h.current.fingerprint).toBe(fpr.c);
    expect(h.revoked).toEqual([]);
    expect(h.retired.map((r) => ({ fingerprint: r.fingerprint, successor: r.successor, chain: r.chain, leadsToCurrent: r.leadsToCurrent }))).toEqual([
      { fingerprint: fpr.b, successor: fpr.c, chain: [fpr.c], leadsToCurrent: true },
      { fingerprint: fpr.a, successor: fpr.b, chain: [fpr.b, fpr.c], leadsToCurrent: true },
    ]);
    const first = JSON.parse(await readFile(retiredKeyPaths(dir, fpr.a).transition, 'utf8')) as { overlap_until: string };
    expect(h.retired[1]!.retiredAt.toISOString()).toBe(first.overlap_until);
  });

  it('leaves out a retired key whose statement no longer verifies, and reads a directory from before keys/retired/', async () => {
    const statement = retiredKeyPaths(dir, fpr.a).transition;
    await writeFile(statement, (await readFile(statement, 'utf8')).replace('is replaced by', 'is replaced  by'));
    expect((await history()).retired.map((r) => r.fingerprint)).toEqual([fpr.b]);

    await rm(retiredKeyPaths(dir, fpr.a).dir, { recursive: true });
    expect((await history()).retired.map((r) => ({ fingerprint: r.fingerprint, leadsToCurrent: r.leadsToCurrent }))).toEqual([{ fingerprint: fpr.b, leadsToCurrent: true }]);
  });

  it('lists a revoked key with its reason, and no chain leads through it any more', async () => {
    await publishRevocation(dir);
    const h = await history();
    expect(h.revoked).toEqual([expect.objectContaining({ fingerprint: fpr.c, reason: 'no reason given', soft: false })]);
    expect(h.revoked[0]!.revokedAt.getTime()).toBeGreaterThan(0);
    expect(h.retired.map((r) => ({ fingerprint: r.fingerprint, leadsToCurrent: r.leadsToCurrent }))).toEqual([
      { fingerprint: fpr.b, leadsToCurrent: false },
      { fingerprint: fpr.a, leadsToCurrent: false },
    ]);
  });

  it('reads a revocation that says the key was superseded as soft, with its comment', async () => {
    const key = await loadBroadcasterKey(dir, undefined);
    const { publicKey } = await openpgp.revokeKey({
      key: key.privateKey,
      reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keySuperseded, string: 'moved to a hardware token' },
      format: 'object',
    });
    expect(describeRevocation(publicKey)).toMatchObject({ reason: 'superseded by another key: moved to a hardware token', soft: true });
  });
});
