import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uniqueId } from '../support/advisory-fixture';
import { runCli, type CliResult } from '../support/cli';
import { freePort } from '../support/free-port';
import { startPrivateRedis } from '../support/private-redis';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** The one line a failed start must print, and its exit code. */
function oneLine(r: CliResult): { code: number | null; lines: string[] } {
  return { code: r.code, lines: r.stderr.trim().split('\n') };
}

/**
 * Runs the CLI as a user who cannot write where root can: as root (a container, CI) it drops to
 * nobody (65534), since permissions do not stop root; as anyone else it runs as itself.
 */
function runCliUnprivileged(args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  return runCli(args, env, cwd, process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined);
}

describe('a start that cannot succeed says what and what to do, in one line, and exits non-zero', () => {
  let home: string;
  const prefixes: string[] = [];
  /** Each run gets a queue prefix of its own on the shared Redis, removed after. */
  const env = (more: Record<string, string> = {}) => {
    const prefix = `t-startup-${uniqueId().toLowerCase()}`;
    prefixes.push(prefix);
    return { REDIS_URL, PORT: '0', TOCSIN_HOST: '127.0.0.1', TOCSIN_QUEUE_PREFIX: prefix, TOCSIN_MIRROR_AUTO: '0', ...more };
  };

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'tocsin-startup-'));
    // Another user (nobody, below) must be able to enter it.
    await chmod(home, 0o755);
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    for (const prefix of prefixes) await deleteRedisPrefix(REDIS_URL, prefix);
  });

  it('the port in use', async () => {
    const holder: Server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const r = await runCli(['serve'], env({ PORT: String(port), TOCSIN_DATA_DIR: path.join(home, 'port-data'), TOCSIN_KEYS_DIR: path.join(home, 'port-keys') }), home);
      expect(oneLine(r)).toEqual({ code: 1, lines: [`tocsin: cannot listen on 127.0.0.1:${port}: the port is in use (another tocsin?): stop what holds it, or set PORT to a free port`] });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('an unwritable data directory', async () => {
    const locked = path.join(home, 'locked-data');
    await mkdir(locked, { mode: 0o555 });
    const keys = path.join(home, 'open-keys');
    await mkdir(keys, { mode: 0o777 });
    await chmod(keys, 0o777);
    const r = await runCliUnprivileged(['serve'], env({ TOCSIN_DATA_DIR: path.join(locked, 'data'), TOCSIN_KEYS_DIR: keys }), home);
    expect(oneLine(r)).toEqual({ code: 1, lines: [expect.stringMatching(new RegExp(`^tocsin: TOCSIN_DATA_DIR ${locked}/data is not a writable directory \\(EACCES\\): make it writable by uid \\d+ \\(chown or chmod\\), or set TOCSIN_DATA_DIR to one that is$`))] });
  });

  it('an unwritable keys directory (the development key cannot be created)', async () => {
    const data = path.join(home, 'open-data');
    await mkdir(data, { mode: 0o777 });
    await chmod(data, 0o777);
    const locked = path.join(home, 'locked-keys');
    await mkdir(locked, { mode: 0o555 });
    const r = await runCliUnprivileged(['serve'], env({ TOCSIN_DATA_DIR: data, TOCSIN_KEYS_DIR: locked }), home);
    expect(oneLine(r)).toEqual({ code: 1, lines: [expect.stringMatching(new RegExp(`^tocsin: TOCSIN_KEYS_DIR ${locked} is not a writable directory \\(EACCES\\): make it writable by uid \\d+`))] });
  });

  it('a wrong key passphrase', async () => {
    const keys = path.join(home, 'pass-keys');
    expect((await runCli(['keys', 'init'], { TOCSIN_KEYS_DIR: keys, TOCSIN_KEY_PASSPHRASE: 'the right passphrase' }, home)).code).toBe(0);
    const r = await runCli(['serve'], env({ TOCSIN_KEYS_DIR: keys, TOCSIN_DATA_DIR: path.join(home, 'pass-data'), TOCSIN_KEY_PASSPHRASE: 'a wrong passphrase' }), home);
    expect(oneLine(r)).toEqual({
      code: 1,
      lines: [`tocsin: TOCSIN_KEY_PASSPHRASE does not unlock the broadcaster key at ${keys}/private/broadcaster.key.asc: set the passphrase it was created with`],
    });
  });

  it('Redis refusing authentication, with no password or a wrong one (which is never printed)', async () => {
    const redis = await startPrivateRedis({ password: 'the-redis-password' });
    try {
      const port = new URL(redis.url).port;
      const none = await runCli(['serve'], env({ REDIS_URL: redis.url, TOCSIN_DATA_DIR: path.join(home, 'auth-data'), TOCSIN_KEYS_DIR: path.join(home, 'auth-keys') }), home);
      expect(oneLine(none)).toEqual({
        code: 1,
        lines: [`tocsin: Redis at ${redis.url} refused authentication (NOAUTH): put its password in REDIS_URL, as redis://:PASSWORD@HOST:PORT (or redis://USER:PASSWORD@HOST:PORT for an ACL user)`],
      });
      const wrong = await runCli(['worker'], env({ REDIS_URL: `redis://:not-the-password@127.0.0.1:${port}` }), home);
      expect(oneLine(wrong)).toEqual({ code: 1, lines: [expect.stringMatching(new RegExp(`^tocsin: Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} refused authentication \\(WRONGPASS\\): put its password in REDIS_URL`))] });
      expect(wrong.stderr + wrong.stdout).not.toContain('not-the-password');
    } finally {
      await redis.stop();
    }
  });

  it('a bad REDIS_URL, named, its password never printed', async () => {
    const badPort = await runCli(['serve'], env({ REDIS_URL: 'redis://127.0.0.1:63790x' }), home);
    expect(oneLine(badPort)).toEqual({ code: 2, lines: [expect.stringMatching(/^tocsin: invalid configuration: REDIS_URL: must be redis:\/\/\[\[USER\]:PASSWORD@\]HOST\[:PORT\]\[\/DB\] .*not a valid URL/)] });
    // ioredis would have sent SELECT NaN and crashed with a stack trace.
    const badDb = await runCli(['worker'], env({ REDIS_URL: 'redis://:hunter2-secret@127.0.0.1:6379/queues' }), home);
    expect(oneLine(badDb)).toEqual({ code: 2, lines: [expect.stringMatching(/^tocsin: invalid configuration: REDIS_URL: .*the path must be a database number, like \/0/)] });
    expect(badDb.stderr).not.toContain('hunter2-secret');
  });
});
