import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a command and resolves with its exit code and output instead of throwing. */
export async function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    const { stdout, stderr } = await run(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A publisher with a real GnuPG key in its own throwaway GNUPGHOME, as a team member would have. */
export interface GpgPublisher {
  home: string;
  fingerprint: string;
  armoredPublicKey: string;
  /** `gpg --detach-sign --armor` over exactly `text`'s UTF-8 bytes (or exactly these bytes). */
  sign(text: string | Buffer): Promise<string>;
  dispose(): Promise<void>;
}

/** How {@link createGpgPublisher} makes the key; the defaults make a key that may publish. */
export interface GpgKeyOptions {
  /** gpg's algorithm name, e.g. `rsa1024` for a key too weak to enrol. Default `ed25519`. */
  algo?: string;
  /** gpg's usage, e.g. `cert` for a key that cannot sign. Default `sign`. */
  usage?: string;
  /** Make the key as if it were this time (gpg's `--faked-system-time`, e.g. `20200101T000000`). */
  createdAt?: string;
}

export async function createGpgPublisher(email = 'publisher@example.org', expiry = '1y', options: GpgKeyOptions = {}): Promise<GpgPublisher> {
  const home = await mkdtemp(path.join(tmpdir(), 'gpg-'));
  const gpg = (...args: string[]) => run('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  const faked = options.createdAt ? ['--faked-system-time', `${options.createdAt}!`] : [];
  await gpg(...faked, '--quick-gen-key', `Test Publisher <${email}>`, options.algo ?? 'ed25519', options.usage ?? 'sign', expiry);
  const { stdout: colons } = await gpg('--with-colons', '--list-keys', email);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (!fingerprint) throw new Error(`gpg made no key: ${colons}`);
  const { stdout: armoredPublicKey } = await gpg('--armor', '--export', fingerprint);
  return {
    home,
    fingerprint,
    armoredPublicKey,
    async sign(text) {
      const dir = await mkdtemp(path.join(tmpdir(), 'sign-'));
      const file = path.join(dir, 'advisory.json');
      await writeFile(file, text);
      await gpg('--local-user', fingerprint, '--armor', '--detach-sign', '--output', `${file}.asc`, file);
      const sig = await readFile(`${file}.asc`, 'utf8');
      await rm(dir, { recursive: true, force: true });
      return sig;
    },
    async dispose() {
      await runTool('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
      await rm(home, { recursive: true, force: true });
    },
  };
}

export interface ToolVerdict {
  ok: boolean;
  /** Fingerprint of the key that made the good signature, when the tool says so. */
  fingerprint?: string;
  output: string;
}

/** `gpg --verify SIG DATA` in a fresh keyring holding only `armoredKey`. */
export async function gpgVerify(armoredKey: string, data: string | Buffer, signature: string): Promise<ToolVerdict> {
  const home = await mkdtemp(path.join(tmpdir(), 'gpgv-'));
  try {
    await writeFile(path.join(home, 'key.asc'), armoredKey);
    await writeFile(path.join(home, 'data'), data);
    await writeFile(path.join(home, 'data.asc'), signature);
    await runTool('gpg', ['--homedir', home, '--batch', '--import', path.join(home, 'key.asc')]);
    const r = await runTool('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', path.join(home, 'data.asc'), path.join(home, 'data')]);
    const fingerprint = /\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/.exec(r.stdout)?.[1];
    return { ok: r.code === 0 && fingerprint !== undefined, ...(fingerprint ? { fingerprint } : {}), output: r.stdout + r.stderr };
  } finally {
    await runTool('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    await rm(home, { recursive: true, force: true });
  }
}

/** `sq verify --signer-cert KEY --detached SIG DATA` (Sequoia, an independent implementation). */
export async function sqVerify(armoredKey: string, data: string | Buffer, signature: string): Promise<ToolVerdict> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sqv-'));
  try {
    await writeFile(path.join(dir, 'key.asc'), armoredKey);
    await writeFile(path.join(dir, 'data'), data);
    await writeFile(path.join(dir, 'data.asc'), signature);
    const r = await runTool('sq', ['verify', '--signer-cert', path.join(dir, 'key.asc'), '--detached', path.join(dir, 'data.asc'), path.join(dir, 'data')], {
      ...process.env,
      HOME: dir,
    });
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
