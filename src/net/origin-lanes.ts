import type { Dispatcher } from 'undici';

/**
 * Up to `lanes` connections per origin, each lane its own single-connection dispatcher. Why not
 * one undici Agent with `connections: 4`: that makes a Pool per origin, and each Pool
 * preallocates a 2,048-slot request queue (16 KiB) that lives as long as its keep-alive
 * connection. A webhook fan-out reaches a new origin per partner, so with 10,000 partners the
 * pools alone held about 270 MiB at the peak (`npm run bench`); single-connection Clients hold
 * a plain array. Many partners behind one host still get their four connections.
 */
export interface OriginLanes {
  /**
   * Runs `send` with the dispatcher of a free lane of `origin`: the lowest free one, so a
   * one-off send always takes lane 0 and its connection; when all are busy, the least busy
   * (undici queues the request on that lane's connection). The lane is counted busy until
   * `send` settles, so `send` should include reading the answer.
   */
  run<T>(origin: string, send: (dispatcher: Dispatcher) => Promise<T>): Promise<T>;
  /** Closes every lane's dispatcher; requests still out finish first. */
  close(): Promise<void>;
}

export function createOriginLanes(lanes: number, makeDispatcher: () => Dispatcher): OriginLanes {
  if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`lanes must be a positive integer (got ${lanes})`);
  const dispatchers = Array.from({ length: lanes }, makeDispatcher);
  // Only origins with a send in flight are kept, so the map is as big as the concurrency, not the audience.
  const inFlight = new Map<string, number[]>();

  const take = (origin: string): number => {
    let counts = inFlight.get(origin);
    if (!counts) inFlight.set(origin, (counts = new Array<number>(lanes).fill(0)));
    let lane = 0;
    for (let i = 1; i < lanes; i++) if (counts[i]! < counts[lane]!) lane = i;
    counts[lane]! += 1;
    return lane;
  };
  const release = (origin: string, lane: number): void => {
    const counts = inFlight.get(origin);
    if (!counts) return;
    counts[lane]! -= 1;
    if (counts.every((n) => n === 0)) inFlight.delete(origin);
  };

  return {
    async run(origin, send) {
      const lane = take(origin);
      try {
        return await send(dispatchers[lane]!);
      } finally {
        release(origin, lane);
      }
    },
    async close() {
      await Promise.all(dispatchers.map((d) => d.close()));
    },
  };
}
