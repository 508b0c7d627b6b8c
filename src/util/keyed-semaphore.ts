/**
 * Bounds how many async tasks run at once per key (a null key is not bounded); waiters start in
 * arrival order. Idle keys take no memory, so it can be keyed by something as numerous as hosts.
 */
export function createKeyedSemaphore(limit: number) {
  const lanes = new Map<string, { active: number; waiting: (() => void)[] }>();
  return {
    async run<T>(key: string | null, task: () => Promise<T>): Promise<T> {
      if (key === null) return task();
      const lane = lanes.get(key) ?? { active: 0, waiting: [] };
      lanes.set(key, lane);
      if (lane.active >= limit) {
        // The finishing task hands its slot over directly, so no newcomer can slip in between.
        await new Promise<void>((resolve) => lane.waiting.push(resolve));
      } else {
        lane.active += 1;
      }
      try {
        return await task();
      } finally {
        const next = lane.waiting.shift();
        if (next) next();
        else if (--lane.active === 0) lanes.delete(key);
      }
    },
    /** Keys with a task running or waiting, for tests. */
    size: () => lanes.size,
  };
}
export type KeyedSemaphore = ReturnType<typeof createKeyedSemaphore>;
