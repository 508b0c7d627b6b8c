import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { broadcasterKeyPaths, generateBroadcasterKey } from '../../src/pgp/broadcaster-key';
import { rotateBroadcasterKey } from '../../src/pgp/key-rotation';
import { gpgGoodCertifiers } from '../support/gpg-keys';

describe("the old key's certification of the new key", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-certification-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // Found by a flaky run: the certification was dated at the start of the rotation and the key
  // when it was generated, a second later when generating crossed a second boundary; gpg refuses
  // a certification older than its key. A rotation dated 1.5 s ago makes that case certain.
  it('is valid to gpg even when the rotation started in an earlier second than the key was made', async () => {
    const old = (await generateBroadcasterKey([{ email: 'tocsin@example.org' }], 0, new Date(Date.now() - 60_000))).privateKey;
    const paths = broadcasterKeyPaths(dir);
    await mkdir(path.dirname(paths.privateKey), { recursive: true });
    await writeFile(paths.privateKey, old.armor());
    const oldPublic = old.toPublic().armor();
    await writeFile(paths.publicKey, oldPublic);
    const result = await rotateBroadcasterKey({ keysDir: dir, passphrase: undefined, overlapDays: 1, expiresDays: 0, force: false, now: new Date(Date.now() - 1500) });
    const newKey = result.transition.statement.new_key;
    expect(await gpgGoodCertifiers([oldPublic, newKey], result.newFingerprint)).toContain(old.getFingerprint().toUpperCase().slice(-16));
  });
});
