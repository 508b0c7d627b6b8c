import { pooledRandomBytes } from '../../src/util/random-pool';

describe('pooled random bytes', () => {
  it('never hands out the same bytes twice, across refills of the pool', () => {
    const seen = new Set<string>();
    // 3,000 draws of 10 bytes: several refills of the 4 KiB pool, and draws that straddle none.
    for (let i = 0; i < 3_000; i++) {
      const hex = pooledRandomBytes(10).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
  });

  it('answers a copy, not a view of the pool', () => {
    const a = pooledRandomBytes(24);
    const before = a.toString('hex');
    for (let i = 0; i < 400; i++) pooledRandomBytes(24);
    expect(a.toString('hex')).toBe(before);
  });

  it('refuses more than the pool holds', () => {
    expect(() => pooledRandomBytes(4097)).toThrow(RangeError);
  });
});
