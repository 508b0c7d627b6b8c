import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planPrerequisites, probePlatform, TOOLS } from '../support/prerequisites';

const ROOT = path.resolve(__dirname, '../..');

/** What `npm test` runs (`jest`), on a test that would pass: only the prerequisites can stop it. */
function runJest(pathVar: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [require.resolve('jest/bin/jest'), '--config', 'jest.config.js', 'test/unit/wkd.test.ts'], {
    cwd: ROOT,
    env: { HOME: process.env.HOME ?? tmpdir(), PATH: pathVar },
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * A fresh machine, as far as `npm test` can tell: PATH holds `node` and nothing else, so
 * redis-server, gpg, sq, chromium and apt-get are all missing (installing is impossible even as
 * root on Debian). The run must stop at once, naming each tool and the command that installs them.
 */
describe('npm test on a machine without its prerequisites', () => {
  let bare: string;
  beforeAll(async () => {
    bare = await mkdtemp(path.join(tmpdir(), 'tocsin-bare-path-'));
    await symlink(process.execPath, path.join(bare, 'node'));
  });
  afterAll(() => rm(bare, { recursive: true, force: true }));

  it('installs what is missing where it may (Debian as root), and says what is still missing after', async () => {
    // A stand-in for apt-get that records its arguments and "installs" every tool but chromium.
    const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-apt-path-'));
    const log = path.join(dir, 'apt-get.log');
    await symlink(process.execPath, path.join(dir, 'node'));
    await writeFile(
      path.join(dir, 'apt-get'),
      `#!${process.execPath}\nconst fs = require('fs');\nfs.appendFileSync(${JSON.stringify(log)}, process.argv.slice(2).join(' ') + '\\n');\n` +
        `if (process.argv[2] === 'install') for (const t of ['redis-server', 'gpg', 'sq']) fs.writeFileSync(${JSON.stringify(dir)} + '/' + t, '', { mode: 0o755 });\n`,
      { mode: 0o755 },
    );
    try {
      const r = await runJest(dir);
      const plan = planPrerequisites([...TOOLS], { ...probePlatform(), aptGet: true });
      if (plan.action === 'install') {
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split('\n')).toEqual([
          'npm test: installing redis-server gnupg sq chromium for redis-server, gpg, sq, chromium (Debian packages; running as root)',
          'npm test: chromium still missing after apt-get install redis-server gnupg sq chromium',
        ]);
        expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['update -qq', 'install -y -qq redis-server gnupg sq chromium']);
      } else {
        // Not root on Debian: it never installs, it names the command.
        expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 1, stderr: plan.action === 'stop' ? plan.message : '' });
        await expect(readFile(log, 'utf8')).rejects.toThrow(/ENOENT/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops within seconds with one message naming each missing tool and the install command', async () => {
    const started = Date.now();
    const { code, stderr, stdout } = await runJest(bare);
    const seconds = (Date.now() - started) / 1000;

    const expected = planPrerequisites([...TOOLS], { ...probePlatform(), aptGet: false });
    expect(expected.action).toBe('stop');
    expect({ code, stderr: stderr.trim(), stdout }).toEqual({ code: 1, stderr: expected.action === 'stop' ? expected.message : '', stdout: '' });
    expect(stderr).toMatch(/missing redis-server, gpg, sq, chromium/);
    expect(stderr).toMatch(/apt-get install -y redis-server gnupg sq chromium|brew install redis gnupg sequoia-sq/);
    expect(seconds).toBeLessThan(20);
  });
});
