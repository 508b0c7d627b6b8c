import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { ensurePrerequisites } from './prerequisites';
import { listening, startRunRedis, stopRunRedis, TEST_REDIS } from './run-redis';

/** What the teardown must stop: jest hands globals from the setup to the teardown, and nothing else. */
export interface RunState {
  tocsinRunRedis?: ChildProcess;
}

/**
 * Before any test: the tools the tests drive (installed or named), a Redis (started for this run
 * when none answers), and the build that the end-to-end tests run.
 */
export default async function globalSetup(): Promise<void> {
  const problem = ensurePrerequisites();
  if (problem) {
    // Thrown, jest would bury this message under its own stack trace: say it alone and stop.
    console.error(problem);
    process.exit(1);
  }
  let redis: ChildProcess | undefined;
  if (!(await listening(TEST_REDIS.host, TEST_REDIS.port))) {
    redis = await startRunRedis();
    (globalThis as RunState).tocsinRunRedis = redis;
    console.error(`npm test: started redis-server on ${TEST_REDIS.host}:${TEST_REDIS.port} for this run (none answered); it stops when the run ends`);
  }
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  } catch (err) {
    // jest runs no teardown after a failed setup.
    if (redis) await stopRunRedis(redis);
    throw err;
  }
}
