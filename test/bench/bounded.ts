/**
 * Loops with a hard ceiling: a benchmark that waits forever on a stuck delivery tells nobody
 * anything, so every wait here ends at a deadline.
 */

/** Runs `task` over `items`, at most `limit` at once; rejects on the first failure. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Re-checks `probe` every `intervalMs` until it returns a value, or throws at the deadline. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** How long a fan-out to `recipients` may take: ten minutes, or 100 deliveries/s (a crowded machine) if longer. */
export function fanOutTimeoutMs(recipients: number): number {
  return Math.max(10 * 60_000, recipients * 10);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
