import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../dist/src/cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `tocsin` CLI to completion; `as` runs it as another user (only root may). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string, as?: { uid: number; gid: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, ...(cwd ? { cwd } : {}), ...as });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
