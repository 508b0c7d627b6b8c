import { randomFillSync } from 'node:crypto';

/**
 * Random bytes from the system's CSPRNG, drawn a few KiB at a time: each draw is a system call
 * (about 14 µs here), and an import of 100,000 recipients needs an id and a token for each.
 * The bytes are the same CSPRNG's (crypto.randomUUID pools the same way), each handed out once.
 */
const POOL = Buffer.alloc(4096);
let used = POOL.length;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL.length) throw new RangeError(`at most ${POOL.length} bytes at a time`);
  if (used + size > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  const out = Buffer.from(POOL.subarray(used, used + size));
  // Handed out bytes are not left behind for a later reader of the pool.
  POOL.fill(0, used, used + size);
  used += size;
  return out;
}
