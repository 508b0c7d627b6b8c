import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTool, type ToolVerdict } from './gpg';

/** `gpg --verify notice.asc` on a cleartext-signed block, in a fresh keyring holding only `armoredKey`. */
export async function gpgVerifyCleartext(armoredKey: string, cleartext: string): Promise<ToolVerdict & { signedText: string }> {
  const home = await mkdtemp(path.join(tmpdir(), 'gpgc-'));
  try {
    await writeFile(path.join(home, 'key.asc'), armoredKey);
    await writeFile(path.join(home, 'notice.asc'), cleartext);
    await runTool('gpg', ['--homedir', home, '--batch', '--import', path.join(home, 'key.asc')]);
    const r = await runTool('gpg', ['--homedir', home, '--batch', '--status-fd', '2', '--output', '-', '--verify', path.join(home, 'notice.asc')]);
    const fingerprint = /\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/.exec(r.stderr)?.[1];
    return { ok: r.code === 0 && fingerprint !== undefined, ...(fingerprint ? { fingerprint } : {}), output: r.stderr, signedText: r.stdout };
  } finally {
    await runTool('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    await rm(home, { recursive: true, force: true });
  }
}

/** `sq verify --signer-cert key.asc notice.asc` (Sequoia) on a cleartext-signed block. */
export async function sqVerifyCleartext(armoredKey: string, cleartext: string): Promise<ToolVerdict> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sqc-'));
  try {
    await writeFile(path.join(dir, 'key.asc'), armoredKey);
    await writeFile(path.join(dir, 'notice.asc'), cleartext);
    const r = await runTool('sq', ['verify', '--signer-cert', path.join(dir, 'key.asc'), path.join(dir, 'notice.asc')], { ...process.env, HOME: dir });
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
