import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ToolVerdict } from './gpg';

const run = promisify(execFile);

async function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    const { stdout, stderr } = await run(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `gpg --verify notice.asc` on a cleartext-signed block, in a fresh keyring holding only `armoredKey`. */
export async function gpgVerifyCleartext(armoredKey: string, cleartext: string): Promise<ToolVerdict & { text: string }> {
  const home = await mkdtemp(path.join(tmpdir(), 'gpgc-'));
  try {
    await writeFile(path.join(home, 'key.asc'), armoredKey);
    await writeFile(path.join(home, 'notice.asc'), cleartext);
    await runTool('gpg', ['--homedir', home, '--batch', '--import', path.join(home, 'key.asc')]);
    const r = await runTool('gpg', ['--homedir', home, '--batch', '--status-fd', '2', '--output', '-', path.join(home, 'notice.asc')]);
    const fingerprint = /\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/.exec(r.stderr)?.[1];
    return { ok: r.code === 0 && fingerprint !== undefined, ...(fingerprint ? { fingerprint } : {}), output: r.stderr, text: r.stdout };
  } finally {
    await runTool('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    await rm(home, { recursive: true, force: true });
  }
}

/** `sq verify --signer-cert KEY notice.asc` (Sequoia) on a cleartext-signed block. */
export async function sqVerifyCleartext(armoredKey: string, cleartext: string): Promise<ToolVerdict & { text: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sqc-'));
  try {
    await writeFile(path.join(dir, 'key.asc'), armoredKey);
    await writeFile(path.join(dir, 'notice.asc'), cleartext);
    const r = await runTool('sq', ['verify', '--signer-cert', path.join(dir, 'key.asc'), path.join(dir, 'notice.asc')], { ...process.env, HOME: dir });
    return { ok: r.code === 0, output: r.stdout + r.stderr, text: r.stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
