import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTool } from './gpg';

/** A throwaway GnuPG home holding the given keys (armored or binary), as a recipient's keyring. */
export async function withGpgHome<T>(keys: (string | Uint8Array)[], fn: (gpg: (...args: string[]) => ReturnType<typeof runTool>, home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(path.join(tmpdir(), 'gpgk-'));
  const gpg = (...args: string[]) => runTool('gpg', ['--homedir', home, '--batch', ...args]);
  try {
    for (const [i, key] of keys.entries()) {
      const file = path.join(home, `key-${i}`);
      await writeFile(file, key);
      const imported = await gpg('--import', file);
      if (imported.code !== 0) throw new Error(`gpg --import failed: ${imported.stderr}`);
    }
    return await fn(gpg, home);
  } finally {
    await runTool('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    await rm(home, { recursive: true, force: true });
  }
}

export interface GpgKeyListing {
  fingerprint: string;
  /** gpg's validity field: `r` revoked, `e` expired, `-` or another letter otherwise. */
  validity: string;
  uids: string[];
}

/** What `gpg --import-options show-only --import` reads from key data: each key's fingerprint and state. */
export async function gpgShowKeys(keyData: string | Uint8Array): Promise<GpgKeyListing[]> {
  return withGpgHome([], async (gpg, home) => {
    const file = path.join(home, 'show');
    await writeFile(file, keyData);
    const r = await gpg('--with-colons', '--import-options', 'show-only', '--import', file);
    if (r.code !== 0) throw new Error(`gpg could not read the key: ${r.stderr}`);
    const keys: GpgKeyListing[] = [];
    let inPrimary = false;
    for (const line of r.stdout.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') {
        keys.push({ fingerprint: '', validity: f[1] ?? '', uids: [] });
        inPrimary = true;
      } else if (f[0] === 'sub') inPrimary = false;
      else if (f[0] === 'fpr' && inPrimary && keys.at(-1)?.fingerprint === '') keys.at(-1)!.fingerprint = f[9] ?? '';
      else if (f[0] === 'uid') keys.at(-1)?.uids.push(f[9] ?? '');
    }
    return keys;
  });
}

/** The WKD hash gpg computes itself for `email` (`gpg --with-wkd-hash -k`), from a key holding it. */
export async function gpgWkdHash(keyData: string | Uint8Array, email: string): Promise<string> {
  return withGpgHome([keyData], async (gpg) => {
    const r = await gpg('--with-wkd-hash', '--list-keys', email);
    const domain = email.slice(email.lastIndexOf('@') + 1).replace(/\./g, '\\.');
    const hash = new RegExp(`^\\s+([a-z0-9]{32})@${domain}$`, 'mi').exec(r.stdout)?.[1];
    if (!hash) throw new Error(`gpg printed no WKD hash for ${email}: ${r.stdout}${r.stderr}`);
    return hash;
  });
}

/**
 * `gpg --check-sigs` on one key in a keyring holding `keys`: the key ids whose certifications of
 * its user ids gpg verified (`sig!`).
 */
export async function gpgGoodCertifiers(keys: (string | Uint8Array)[], fingerprint: string): Promise<string[]> {
  return withGpgHome(keys, async (gpg) => {
    const r = await gpg('--with-colons', '--check-sigs', fingerprint);
    const certifiers: string[] = [];
    let inUid = false;
    for (const line of r.stdout.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'uid') inUid = true;
      else if (f[0] === 'sub') inUid = false;
      else if (f[0] === 'sig' && inUid && f[1] === '!') certifiers.push(f[4] ?? '');
    }
    return certifiers;
  });
}

/** `gpg --verify` in a keyring holding `keys`: exit code, and the fingerprints gpg reported VALIDSIG for. */
export async function gpgVerifyWith(keys: (string | Uint8Array)[], data: string, signature: string): Promise<{ code: number; valid: string[]; missing: string[]; output: string }> {
  return withGpgHome(keys, async (gpg, home) => {
    await writeFile(path.join(home, 'data'), data);
    await writeFile(path.join(home, 'data.asc'), signature);
    const r = await gpg('--status-fd', '1', '--verify', path.join(home, 'data.asc'), path.join(home, 'data'));
    const valid = [...r.stdout.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/gm)].map((m) => m[1]!);
    const missing = [...r.stdout.matchAll(/^\[GNUPG:\] NO_PUBKEY ([0-9A-F]{16})/gm)].map((m) => m[1]!);
    return { code: r.code, valid, missing, output: r.stdout + r.stderr };
  });
}

/** `sq wkd url` / `sq wkd direct-url`: the path Sequoia would fetch for `email`, without the origin. */
export async function sqWkdPath(email: string, method: 'advanced' | 'direct'): Promise<string> {
  const r = await runTool('sq', ['wkd', method === 'advanced' ? 'url' : 'direct-url', email]);
  if (r.code !== 0) throw new Error(`sq wkd failed: ${r.stderr}`);
  const url = new URL(r.stdout.trim());
  return `${url.pathname}${url.search}`;
}

/** `sq inspect` of key data: Sequoia's own reading, e.g. for its fingerprint and revocation status. */
export async function sqInspect(keyData: string | Uint8Array, ...flags: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sqi-'));
  try {
    await writeFile(path.join(dir, 'key'), keyData);
    const r = await runTool('sq', ['inspect', ...flags, path.join(dir, 'key')], { ...process.env, HOME: dir });
    if (r.code !== 0) throw new Error(`sq inspect failed: ${r.stderr}`);
    return r.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
