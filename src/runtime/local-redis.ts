import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { StartupError } from './startup-error';
import { ensureWritableDir } from './writable-dir';

/** A redis-server this process started and must stop. */
export interface LocalRedis {
  pid: number;
  /** Asks Redis to shut down (it flushes its append-only file) and waits until it has. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * For `tocsin start`, which should need nothing but Node and redis-server on a developer's
 * machine: with REDIS_URL unset and nothing listening on 127.0.0.1:TOCSIN_LOCAL_REDIS_PORT,
 * starts a redis-server there, on loopback only, with its append-only file in
 * TOCSIN_DATA_DIR/redis. Resolves to null when REDIS_URL is set or something already listens
 * (that one is used, and connecting to it says what is wrong if it is not a usable Redis).
 */
export async function startLocalRedisIfNeeded(config: Pick<Config, 'localRedis' | 'redisUrl'>, log: Logger): Promise<LocalRedis | null> {
  const local = config.localRedis;
  if (!local || (await listening(HOST, local.port))) return null;
  await ensureWritableDir(local.dir, 'TOCSIN_DATA_DIR');
  const logFile = path.join(local.dir, 'redis.log');
  const args = ['--bind', HOST, '--port', String(local.port), '--dir', local.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--logfile', logFile];
  // Its own process group: Ctrl-C on tocsin reaches tocsin alone, which stops Redis last, after
  // in-flight work has finished with it.
  const child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new StartupError(
              `no Redis at ${config.redisUrl} and redis-server is not installed: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), ` +
                `or run "docker compose up", or set REDIS_URL to your Redis`,
              { cause: err },
            )
          : new StartupError(`cannot start redis-server (${err.code ?? err.message}): set REDIS_URL to a Redis of yours`, { cause: err }),
      ),
    );
    child.once('exit', async (code) => {
      const last = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').at(-1) ?? '';
      reject(new StartupError(`redis-server exited with ${code} at start${last ? ` ("${last.replace(/^\d+:\w \S+ \S+ \S+ [*#.-] /, '')}")` : ''}: see ${logFile}, or set REDIS_URL to a Redis of yours`));
    });
  });
  try {
    await Promise.race([answers(config.redisUrl), failed]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  failed.catch(() => undefined);
  child.unref();
  // Whatever ends this process, Redis goes with it (a normal stop has already waited for it).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  log.info(
    { pid: child.pid, url: config.redisUrl, dir: local.dir },
    `REDIS_URL is unset and nothing listened on ${HOST}:${local.port}: started redis-server there (loopback only, append-only file in ${local.dir}); it stops when tocsin stops`,
  );
  return {
    pid: child.pid!,
    stop: async () => {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}

/** Whether anything accepts a TCP connection on host:port. */
export function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once Redis at `url` answers a ping; commands wait in ioredis's queue meanwhile. */
async function answers(url: string): Promise<void> {
  const probe = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  probe.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new StartupError(`redis-server did not answer at ${url} within ${READY_TIMEOUT_MS / 1000} s: set REDIS_URL to a Redis of yours`)), READY_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
