import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { CLI, runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';
import { listening } from '../support/run-redis';

interface Running {
  child: ChildProcess;
  logLines: () => { msg?: string; pid?: number; port?: number; dir?: string }[];
  stderr: () => string;
}

/** `tocsin start` as `npm start` runs it, with REDIS_URL unset; resolves once the API listens. */
async function start(env: Record<string, string>, cwd: string): Promise<Running> {
  const { REDIS_URL: _unset, ...rest } = process.env;
  const child = spawn(process.execPath, [CLI, 'start'], { cwd, env: { ...rest, LOG_LEVEL: 'info', PORT: '0', TOCSIN_HOST: '127.0.0.1', TOCSIN_MIRROR_AUTO: '0', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const logLines = () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string });
  await eventually(async () => logLines().some((l) => l.msg === 'tocsin API listening') || child.exitCode !== null, 30_000, 'tocsin start listening');
  if (child.exitCode !== null) throw new Error(`tocsin start exited ${child.exitCode}: ${stderr}`);
  return { child, logLines, stderr: () => stderr };
}

async function stop(running: Running): Promise<number | null> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return running.child.exitCode;
  const exited = once(running.child, 'exit');
  running.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start without REDIS_URL: a Redis of its own, supervised', () => {
  let home: string;
  const started: Running[] = [];
  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'tocsin-local-redis-'));
  });
  afterAll(async () => {
    for (const r of started) await stop(r);
    await rm(home, { recursive: true, force: true });
  });

  it('starts redis-server on loopback with persistence under TOCSIN_DATA_DIR, says so in one line, and stops it on exit', async () => {
    const port = await freePort();
    const data = path.join(home, 'data');
    const env = { TOCSIN_LOCAL_REDIS_PORT: String(port), TOCSIN_DATA_DIR: data, TOCSIN_KEYS_DIR: path.join(home, 'keys') };
    const first = await start(env, home);
    started.push(first);

    const said = first.logLines().filter((l) => /started redis-server/.test(l.msg ?? ''));
    expect(said).toHaveLength(1);
    const pid = said[0]!.pid!;
    expect(alive(pid)).toBe(true);
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    await redis.connect();
    try {
      expect(await redis.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'dir')).toEqual(['dir', path.join(data, 'redis')]);
      // tocsin itself runs on it: its queues are there.
      await eventually(async () => (await redis.keys('tocsin:*')).length > 0, 10_000, "tocsin's keys in the local Redis");
      await redis.set('local-redis-test:kept', 'across restarts');
    } finally {
      redis.disconnect();
    }

    expect(await stop(first)).toBe(0);
    // Stopped with tocsin, not left behind.
    expect(alive(pid)).toBe(false);
    expect(await listening('127.0.0.1', port)).toBe(false);

    // The append-only file keeps what was there for the next start.
    const second = await start(env, home);
    started.push(second);
    const again = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    await again.connect();
    try {
      expect(await again.get('local-redis-test:kept')).toBe('across restarts');
    } finally {
      again.disconnect();
    }
    expect(await stop(second)).toBe(0);
    expect(await listening('127.0.0.1', port)).toBe(false);
  });

  it('uses a Redis that already listens there, and leaves it running', async () => {
    const port = await freePort();
    const other = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      await eventually(() => listening('127.0.0.1', port), 10_000, 'a redis-server of the test');
      const running = await start({ TOCSIN_LOCAL_REDIS_PORT: String(port), TOCSIN_DATA_DIR: path.join(home, 'data-2'), TOCSIN_KEYS_DIR: path.join(home, 'keys-2') }, home);
      started.push(running);
      expect(running.logLines().filter((l) => /started redis-server/.test(l.msg ?? ''))).toEqual([]);
      expect(await stop(running)).toBe(0);
      expect(await listening('127.0.0.1', port)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('with REDIS_URL set, never starts one', async () => {
    const port = await freePort();
    const r = await runCli(['start'], { REDIS_URL: `redis://127.0.0.1:${port}`, TOCSIN_LOCAL_REDIS_PORT: String(port), PORT: '0', LOG_LEVEL: 'info', TOCSIN_DATA_DIR: path.join(home, 'data-3') }, home);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tocsin: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: /)]);
    expect(r.stdout).not.toMatch(/started redis-server/);
    expect(await listening('127.0.0.1', port)).toBe(false);
  });

  it('without redis-server installed, exits with one line giving the install commands and docker compose', async () => {
    const bare = await mkdtemp(path.join(tmpdir(), 'tocsin-no-redis-server-'));
    await symlink(process.execPath, path.join(bare, 'node'));
    try {
      const port = await freePort();
      const { REDIS_URL: _unset, ...rest } = process.env;
      const child = spawn(process.execPath, [CLI, 'start'], {
        cwd: home,
        env: { ...rest, PATH: bare, LOG_LEVEL: 'warn', PORT: '0', TOCSIN_LOCAL_REDIS_PORT: String(port), TOCSIN_DATA_DIR: path.join(home, 'data-4') },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'close')) as [number | null];
      expect({ code, lines: stderr.trim().split('\n') }).toEqual({
        code: 1,
        lines: [
          `tocsin: no Redis at redis://127.0.0.1:${port} and redis-server is not installed: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), ` +
            'or run "docker compose up", or set REDIS_URL to your Redis',
        ],
      });
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});
