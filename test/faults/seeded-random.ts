/**
 * A small seeded PRNG (mulberry32): the same seed gives the same fault schedule, so a failing run
 * can be replayed with TOCSIN_FAULT_SEED.
 */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [min, max]. */
    int: (min: number, max: number): number => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    shuffle<T>(items: readonly T[]): T[] {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j] as T, out[i] as T];
      }
      return out;
    },
  };
}
export type SeededRandom = ReturnType<typeof seededRandom>;

/** The seed from TOCSIN_FAULT_SEED when set (a replay), else a fresh one. */
export function faultSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.TOCSIN_FAULT_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`TOCSIN_FAULT_SEED must be an integer 0..4294967295, got ${given}`);
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
}
