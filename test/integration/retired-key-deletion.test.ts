import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { broadcasterKeyPaths, createBroadcasterKey, loadBroadcasterKey } from '../../src/pgp/broadcaster-key';
import { createBroadcasterKeys } from '../../src/pgp/broadcaster-keys';
import { readKeyHistory, retiredKeyPaths } from '../../src/pgp/key-history';
import { rotateBroadcasterKey } from '../../src/pgp/key-rotation';
import { parseTransition } from '../../src/pgp/key-transition';
import { deleteRetiredPrivateKey } from '../../src/pgp/previous-key-deletion';

const DAY_MS = 86_400_000;
const PASSPHRASE = 'pass phrase';
const exists = (file: string) => access(file).then(() => true, () => false);

/**
 * Once a rotation's overlap ends, the key it replaced never signs again, and its private key
 * leaves the disk: without a restart, at the next signing or maintenance pass (the clock is
 * injected). Its public key, its revocation certificate and the key history stay.
 */
describe('deleting the previous private key when the overlap ends', () => {
  let dir: string;
  let paths: ReturnType<typeof broadcasterKeyPaths>;
  let oldFpr: string;
  let newFpr: string;
  let rotatedAt: Date;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-retired-key-'));
    paths = broadcasterKeyPaths(dir);
    oldFpr = (await createBroadcasterKey({ keysDir: dir, email: 'tocsin@example.org', passphrase: PASSPHRASE })).fingerprint;
    rotatedAt = new Date();
    newFpr = (await rotateBroadcasterKey({ keysDir: dir, passphrase: PASSPHRASE, overlapDays: 30, expiresDays: 0, force: false, now: rotatedAt })).newFingerprint;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const at = (days: number) => new Date(rotatedAt.getTime() + days * DAY_MS);

  it('keeps it during the overlap; the first signing after the overlap deletes it and keeps the public key, revocation certificate and history', async () => {
    const keys = createBroadcasterKeys(dir, PASSPHRASE);
    expect((await keys.signer(at(29))).signerFingerprints).toEqual([newFpr, oldFpr]);
    expect(await exists(paths.previousPrivateKey)).toBe(true);

    expect((await keys.signer(at(30))).signerFingerprints).toEqual([newFpr]);
    expect(await exists(paths.previousPrivateKey)).toBe(false);
    // Signing goes on, with the directory re-read now that the file is gone.
    expect((await keys.signer(at(31))).signerFingerprints).toEqual([newFpr]);
    expect((await keys.snapshot()).previous).toBeNull();

    for (const kept of [paths.previousPublicKey, paths.previousRevocation, retiredKeyPaths(dir, oldFpr).publicKey, paths.privateKey, paths.revocation]) {
      expect([kept, await exists(kept)]).toEqual([kept, true]);
    }
    const history = await readKeyHistory(dir, await loadBroadcasterKey(dir, PASSPHRASE));
    expect(history.retired.map((r) => [r.fingerprint, r.leadsToCurrent])).toEqual([[oldFpr, true]]);
  });

  it('the maintenance pass deletes it when nothing is signed, once', async () => {
    const keys = createBroadcasterKeys(dir, PASSPHRASE);
    expect(await keys.deleteRetiredKey(at(29))).toBeNull();
    expect(await exists(paths.previousPrivateKey)).toBe(true);
    expect(await keys.deleteRetiredKey(at(30))).toBe(oldFpr);
    expect(await exists(paths.previousPrivateKey)).toBe(false);
    expect(await keys.deleteRetiredKey(at(31))).toBeNull();
  });

  it('leaves a private key the statement does not retire: one a rotation under way has just put there', async () => {
    const statement = parseTransition(await readFile(paths.transition, 'utf8'));
    // The next rotation's first step copies the current key to previous.key.asc.
    await writeFile(paths.previousPrivateKey, await readFile(paths.privateKey, 'utf8'));
    expect(await deleteRetiredPrivateKey(dir, statement, at(31))).toBeNull();
    expect(await exists(paths.previousPrivateKey)).toBe(true);
  });
});
