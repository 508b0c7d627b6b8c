import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadPublisherKeyring } from '../../src/pgp/publisher-keyring';
import { createGpgPublisher } from '../support/gpg';

const run = promisify(execFile);
const DOC = '{"id":"X-1"}\n';

/** gpg in a throwaway home, optionally pretending to be at another time. */
function gpgIn(home: string, fakedTime?: string) {
  return (...args: string[]) =>
    run('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...(fakedTime ? ['--faked-system-time', `${fakedTime}!`] : []), ...args]);
}

describe('publisher keyring: only enrolled, unexpired, unrevoked keys publish', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keyring-'));
  });
  afterEach(async () => {
    await run('gpgconf', ['--homedir', dir, '--kill', 'gpg-agent']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a signature made in 2020 by a key that has expired since', async () => {
    const home = path.join(dir, 'gnupg');
    await run('mkdir', ['-m', '700', home]);
    await gpgIn(home, '20200101T000000')('--quick-gen-key', 'Old Publisher <old@example.org>', 'ed25519', 'sign', '30d');
    await writeFile(path.join(dir, 'doc'), DOC);
    await gpgIn(home, '20200102T000000')('--armor', '--detach-sign', '--output', path.join(dir, 'doc.asc'), path.join(dir, 'doc'));
    const { stdout: pub } = await gpgIn(home)('--armor', '--export', 'old@example.org');
    await writeFile(path.join(dir, 'publishers-old.asc'), pub);
    const keyring = await loadPublisherKeyring(dir);
    expect(keyring.keys).toHaveLength(1);
    const result = await keyring.verify(Buffer.from(DOC), [await readFile(path.join(dir, 'doc.asc'), 'utf8')]);
    expect(result.valid).toEqual([]);
    expect(result.problems.join()).toMatch(/expired/);
  });

  it('refuses a signature by a key that was revoked', async () => {
    const publisher = await createGpgPublisher('revoked@example.org');
    try {
      const signature = await publisher.sign(DOC);
      const revs = path.join(publisher.home, 'openpgp-revocs.d');
      const [certFile] = await readdir(revs);
      // gpg stores the certificate with a ':' before the armor line so it cannot be imported by accident.
      const cert = (await readFile(path.join(revs, certFile!), 'utf8')).replace(/^:-----BEGIN/m, '-----BEGIN');
      await writeFile(path.join(dir, 'revoke.asc'), cert);
      await gpgIn(publisher.home)('--import', path.join(dir, 'revoke.asc'));
      const { stdout: revokedPub } = await gpgIn(publisher.home)('--armor', '--export', publisher.fingerprint);
      const keysDir = path.join(dir, 'publishers');
      await run('mkdir', [keysDir]);
      await writeFile(path.join(keysDir, 'revoked.asc'), revokedPub);
      const keyring = await loadPublisherKeyring(keysDir);
      const result = await keyring.verify(Buffer.from(DOC), [signature]);
      expect(result.valid).toEqual([]);
      expect(result.problems.join()).toMatch(/revoked/);
    } finally {
      await publisher.dispose();
    }
  });

  it('accepts the same kind of signature from a valid key, and refuses a private key file', async () => {
    const publisher = await createGpgPublisher('valid@example.org');
    try {
      await writeFile(path.join(dir, 'valid.asc'), publisher.armoredPublicKey);
      const { stdout: secret } = await gpgIn(publisher.home)('--armor', '--export-secret-keys', publisher.fingerprint);
      await writeFile(path.join(dir, 'oops-secret.asc'), secret);
      const keyring = await loadPublisherKeyring(dir);
      expect(keyring.refused).toEqual([expect.objectContaining({ file: 'oops-secret.asc', reason: expect.stringMatching(/private key/) })]);
      const result = await keyring.verify(Buffer.from(DOC), [await publisher.sign(DOC)]);
      expect(result.valid.map((v) => v.fingerprint)).toEqual([publisher.fingerprint]);
    } finally {
      await publisher.dispose();
    }
  });
});
