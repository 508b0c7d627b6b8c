/**
 * Seeded randomness for fuzz-style tests: every run prints nothing unless it fails, and a failure
 * names the seed, so `TOCSIN_FUZZ_SEED=<seed> npx jest <file>` replays exactly the same inputs.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi], both included. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  bool(p?: number): boolean;
  bytes(n: number): Buffer;
}

/** mulberry32: tiny, fast and good enough to spread inputs; the same seed gives the same stream. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(0, items.length - 1)];
      if (item === undefined && items.length === 0) throw new Error('pick from an empty list');
      return item as T;
    },
    bool: (p = 0.5) => next() < p,
    bytes: (n) => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = int(0, 255);
      return out;
    },
  };
}

/** This run's base seed: `TOCSIN_FUZZ_SEED` to replay a failure, otherwise a fresh one. */
export const baseSeed: number = process.env.TOCSIN_FUZZ_SEED ? Number(process.env.TOCSIN_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

/** A case's own seed, from the base seed and its name, so one case replays alone in any order. */
function caseSeed(name: string): number {
  let h = baseSeed ^ 0x811c9dc5;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/**
 * Runs `body` with this case's seeded generator; any failure is rethrown with the seed and the
 * iteration, so it can be replayed.
 */
export async function fuzz(name: string, iterations: number, body: (rng: Rng, iteration: number) => Promise<void>): Promise<void> {
  const rng = createRng(caseSeed(name));
  for (let i = 0; i < iterations; i++) {
    try {
      await body(rng, i);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const where = `[fuzz "${name}" iteration ${i}; replay with TOCSIN_FUZZ_SEED=${baseSeed}]`;
      e.message = `${where}\n${e.message}`;
      e.stack = `${where}\n${e.stack ?? ''}`;
      throw e;
    }
  }
}
