import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { eventually } from './eventually';
import { freePort } from './free-port';

/**
 * A redis-server of a test's own, on a free loopback port, that the test may kill and start
 * again: what the shared Redis on 6379 must never be put through. Keeps nothing on disk, so a
 * restart comes back empty, like a Redis without persistence. With `password`, it refuses
 * clients that do not give it (`url` does not hold it).
 */
export async function startPrivateRedis(options: { password?: string } = {}) {
  const port = await freePort();
  let child: ChildProcess | null = null;

  async function start(): Promise<void> {
    if (child && child.exitCode === null) return;
    const auth = options.password === undefined ? [] : ['--requirepass', options.password];
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], { stdio: 'ignore' });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(options.password === undefined ? {} : { password: options.password }) });
    try {
      await eventually(() => probe.connect().then(() => probe.ping(), () => null), 10_000, `redis-server on ${port}`);
    } finally {
      probe.disconnect();
    }
  }

  async function kill(): Promise<void> {
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    child = null;
  }

  await start();
  return { url: `redis://127.0.0.1:${port}`, start, kill, stop: kill };
}
