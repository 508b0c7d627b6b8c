import { performance } from 'node:perf_hooks';

/**
 * Milliseconds since the epoch with sub-millisecond resolution. The driver, tocsin's receivers and
 * the plain client live in different processes; this is the clock they all agree on, so a
 * receiver's "last delivery" can be subtracted from the driver's "submitted".
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
