import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { loadPublisherKeyring, PUBLISHER_CLOCK_SKEW_MS } from '../../src/pgp/publisher-keyring';
import { createGpgPublisher } from '../support/gpg';
import { withShadowSubkey } from '../support/shadow-key';

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

  /** A gpg key made in 2020 that certifies only, with signing subkeys; the key id of each subkey. */
  async function keyWithSubkeys(home: string, ...lives: string[]) {
    await run('mkdir', ['-m', '700', home]);
    await gpgIn(home, '20200101T000000')('--quick-gen-key', 'Sub Publisher <sub@example.org>', 'ed25519', 'cert', 'never');
    const colons = async () => (await gpgIn(home)('--with-colons', '--list-keys', 'sub@example.org')).stdout;
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(await colons())![1]!;
    for (const life of lives) await gpgIn(home, '20200101T000000')('--quick-add-key', fingerprint, 'ed25519', 'sign', life);
    const subkeys = [...(await colons()).matchAll(/^sub:[^:]*:\d+:\d+:([0-9A-F]{16}):/gm)].map((m) => m[1]!);
    const sign = async (subkey: string, at: string) => {
      await gpgIn(home, at)('--local-user', `${subkey}!`, '--armor', '--detach-sign', '--output', path.join(dir, 'doc.asc'), path.join(dir, 'doc'));
      return readFile(path.join(dir, 'doc.asc'), 'utf8');
    };
    const exportTo = async (file: string) => writeFile(file, (await gpgIn(home)('--armor', '--export', fingerprint)).stdout);
    return { fingerprint, subkeys, sign, exportTo };
  }

  it('refuses a signature made in 2020 by a signing subkey that has expired since, though its primary key is valid', async () => {
    await writeFile(path.join(dir, 'doc'), DOC);
    const key = await keyWithSubkeys(path.join(dir, 'gnupg'), '1d');
    const signature = await key.sign(key.subkeys[0]!, '20200101T120000');
    const keysDir = path.join(dir, 'publishers');
    await run('mkdir', [keysDir]);
    await key.exportTo(path.join(keysDir, 'sub.asc'));
    const result = await (await loadPublisherKeyring(keysDir)).verify(Buffer.from(DOC), [signature]);
    expect(result.valid).toEqual([]);
    expect(result.problems).toEqual([`signatures[0]: made by signing subkey ${key.subkeys[0]} of publisher ${key.fingerprint}, which may not sign now (Could not find valid signing key packet in key ${key.fingerprint.slice(-16).toLowerCase()}: Subkey is expired)`]);
  });

  it('refuses a signature dated before a signing subkey was retired ("superseded"), once it is', async () => {
    await writeFile(path.join(dir, 'doc'), DOC);
    const home = path.join(dir, 'gnupg');
    const key = await keyWithSubkeys(home, 'never');
    const signature = await key.sign(key.subkeys[0]!, '20200102T000000');
    const keysDir = path.join(dir, 'publishers');
    await run('mkdir', [keysDir]);
    await key.exportTo(path.join(keysDir, 'sub.asc'));
    expect((await (await loadPublisherKeyring(keysDir)).verify(Buffer.from(DOC), [signature])).valid).toHaveLength(1);
    // gpg --edit-key: revoke subkey 1, reason 2 ("Key is superseded"), a soft revocation.
    const edit = gpgIn(home)('--command-fd', '0', '--edit-key', key.fingerprint);
    edit.child.stdin!.end('key 1\nrevkey\ny\n2\nreplaced by a new subkey\n\ny\nsave\n');
    await edit;
    await key.exportTo(path.join(keysDir, 'sub.asc'));
    const result = await (await loadPublisherKeyring(keysDir)).verify(Buffer.from(DOC), [signature]);
    expect(result.valid).toEqual([]);
    expect(result.problems).toEqual([expect.stringMatching(new RegExp(`^signatures\\[0\\]: made by signing subkey ${key.subkeys[0]} of publisher ${key.fingerprint}, which may not sign now \\(.*Subkey is revoked\\)$`))]);
  });

  it("refuses at load a key that carries another publisher's key as a subkey, whatever the file order", async () => {
    const [bob, mallory] = await Promise.all([createGpgPublisher('bob@example.org'), createGpgPublisher('mallory@example.org')]);
    try {
      // "a-" sorts first: without the rule, the shadowing key would be the one kept.
      await writeFile(path.join(dir, 'a-mallory.asc'), await withShadowSubkey(mallory.armoredPublicKey, bob.armoredPublicKey));
      await writeFile(path.join(dir, 'b-bob.asc'), bob.armoredPublicKey);
      const keyring = await loadPublisherKeyring(dir);
      expect(keyring.refused).toEqual([{ file: 'a-mallory.asc', reason: `key ${mallory.fingerprint} shares the key id ${bob.fingerprint.slice(-16)} with enrolled publisher ${bob.fingerprint}: a key id may belong to one publisher only` }]);
      expect([...keyring.files.keys()]).toEqual([bob.fingerprint]);
      expect((await keyring.verify(Buffer.from(DOC), [await bob.sign(DOC)])).valid.map((v) => v.fingerprint)).toEqual([bob.fingerprint]);
    } finally {
      await Promise.all([bob.dispose(), mallory.dispose()]);
    }
  });

  it('refuses at load a key placed by hand whose user id breaks the rule for submitted text', async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Security \u202Emaet', email: 'sec@example.org' }], format: 'armored' });
    await writeFile(path.join(dir, 'by-hand.asc'), publicKey);
    const keyring = await loadPublisherKeyring(dir);
    expect(keyring.keys).toEqual([]);
    expect(keyring.refused).toEqual([{ file: 'by-hand.asc', reason: expect.stringMatching(/^a user id breaks the rule for submitted text: .*U\+202E/) }]);
  });

  it(`accepts a signature dated up to ${PUBLISHER_CLOCK_SKEW_MS / 60_000} minutes ahead of tocsin's clock, and refuses one 6 minutes ahead`, async () => {
    const publisher = await createGpgPublisher('fast-clock@example.org');
    try {
      await writeFile(path.join(dir, 'fast.asc'), publisher.armoredPublicKey);
      const signature = await publisher.sign(DOC);
      const created = (await openpgp.readSignature({ armoredSignature: signature })).packets[0]!.created!;
      const slowBy = async (minutes: number) => (await loadPublisherKeyring(dir, { now: () => new Date(created.getTime() - minutes * 60_000) })).verify(Buffer.from(DOC), [signature]);
      expect((await slowBy(4)).valid.map((v) => v.fingerprint)).toEqual([publisher.fingerprint]);
      const late = await slowBy(6);
      expect(late.valid).toEqual([]);
      expect(late.problems).toEqual([expect.stringMatching(/^signatures\[0\]: is dated \S+, more than 300 s after tocsin's clock \(\S+\): check the signing machine's clock and sign again$/)]);
    } finally {
      await publisher.dispose();
    }
  });
});
