import type { RunState } from './global-setup';
import { stopRunRedis } from './run-redis';

/** Stops the Redis that the setup started for this run, if it started one. */
export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as RunState).tocsinRunRedis;
  if (child) await stopRunRedis(child);
}
