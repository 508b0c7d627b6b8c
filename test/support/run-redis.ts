import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { listening } from '../../src/runtime/local-redis';

/** Where the tests expect Redis (their URLs name it, each with a key prefix of its own). */
export const TEST_REDIS = { host: '127.0.0.1', port: 6379 } as const;

export { listening };

/**
 * Starts a redis-server for this test run on {@link TEST_REDIS}, keeping nothing on disk, and
 * resolves once it answers. Detached, so that Ctrl-C on the run reaches jest first and
 * the teardown stops Redis after the tests, not under them.
 */
export async function startRunRedis(timeoutMs = 10_000): Promise<ChildProcess> {
  const { host, port } = TEST_REDIS;
  const child = spawn('redis-server', ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore', detached: true });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it answered on ${host}:${port}`)));
  });
  // Commands wait in the offline queue while it retries, so the ping answers once Redis is up.
  const probe = new Redis({ host, port, maxRetriesPerRequest: null, retryStrategy: () => 50 });
  probe.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.ping(),
      exited,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis-server did not answer on ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
  child.unref();
  return child;
}

/** Stops the run's redis-server and waits until it is gone. */
export async function stopRunRedis(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
