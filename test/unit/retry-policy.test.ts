import { parseRetryAfter, RateLimitedError, TransientDeliveryError } from '../../src/channels/delivery-errors';
import { CircuitOpenError } from '../../src/delivery/circuit-breaker';
import { backoffDelay, delayAfter, RETRY_AFTER_CAP_MS } from '../../workers/retry-policy';

const policy = { maxAttempts: 15, baseMs: 5_000, maxMs: 2 * 3600_000 };

describe('retry policy', () => {
  it('doubles from the base, with jitter between half and all of the step', () => {
    for (const [attempt, step] of [[2, 5_000], [3, 10_000], [4, 20_000], [6, 80_000]] as const) {
      expect(backoffDelay(policy, attempt, () => 0)).toBe(step / 2);
      expect(backoffDelay(policy, attempt, () => 1)).toBe(step);
    }
  });

  it('never waits longer than the cap', () => {
    expect(backoffDelay(policy, 40, () => 1)).toBe(policy.maxMs);
  });

  it('spreads recipients that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 5)));
    expect(delays.size).toBeGreaterThan(10);
  });

  it("takes the peer's Retry-After over the schedule, within its own cap", () => {
    expect(delayAfter(policy, new RateLimitedError('429', 90_000), 2)).toBe(90_000);
    expect(delayAfter(policy, new RateLimitedError('429', 0), 2)).toBe(1_000);
    expect(delayAfter(policy, new RateLimitedError('429', 30 * 24 * 3600_000), 2)).toBe(RETRY_AFTER_CAP_MS);
    const d = delayAfter(policy, new TransientDeliveryError('500'), 2);
    expect(d).toBeGreaterThanOrEqual(2_500);
    expect(d).toBeLessThanOrEqual(5_000);
  });

  it('holds a send an open circuit refused until the next probe, then adds the usual backoff', () => {
    for (let i = 0; i < 20; i++) {
      const d = delayAfter(policy, new CircuitOpenError('not attempted', 240_000), 3);
      expect(d).toBeGreaterThanOrEqual(240_000 + 5_000);
      expect(d).toBeLessThanOrEqual(240_000 + 10_000);
    }
    // While a probe is in flight there is no probe time to wait for: the plain schedule applies.
    const d = delayAfter(policy, new CircuitOpenError('not attempted', 0), 2);
    expect(d).toBeGreaterThanOrEqual(2_500);
    expect(d).toBeLessThanOrEqual(5_000);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});
