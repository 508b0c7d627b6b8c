import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('needs nothing set: the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      redisUrl: 'redis://127.0.0.1:6379',
      dataDir: path.resolve('./data'),
      keysDir: path.resolve('./keys'),
      adminToken: undefined,
      keyPassphrase: undefined,
      allowPrivateTargets: false,
    });
  });

  it.each([['1', true], ['true', true], ['0', false], ['false', false]])('reads TOCSIN_ALLOW_PRIVATE_TARGETS=%s', (v, expected) => {
    expect(loadConfig({ TOCSIN_ALLOW_PRIVATE_TARGETS: v }).allowPrivateTargets).toBe(expected);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', TOCSIN_ALLOW_PRIVATE_TARGETS: 'yes', TOCSIN_ADMIN_TOKEN: 'short' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      for (const name of ['PORT', 'REDIS_URL', 'TOCSIN_ALLOW_PRIVATE_TARGETS', 'TOCSIN_ADMIN_TOKEN']) expect(text).toContain(name);
    }
  });

  it('reads the circuit breaker settings, with documented defaults, 0 turning it off', () => {
    expect(loadConfig({}).breaker).toEqual({ threshold: 5, cooldownMs: 30_000, maxCooldownMs: 600_000 });
    expect(loadConfig({ TOCSIN_BREAKER_THRESHOLD: '0', TOCSIN_BREAKER_COOLDOWN_MS: '1000', TOCSIN_BREAKER_MAX_COOLDOWN_MS: '4000' }).breaker).toEqual({ threshold: 0, cooldownMs: 1000, maxCooldownMs: 4000 });
    // A maximum below the first cool-down would shorten it; the first one wins.
    expect(loadConfig({ TOCSIN_BREAKER_COOLDOWN_MS: '5000', TOCSIN_BREAKER_MAX_COOLDOWN_MS: '1000' }).breaker.maxCooldownMs).toBe(5000);
    expect(() => loadConfig({ TOCSIN_BREAKER_THRESHOLD: '-1' })).toThrow(/TOCSIN_BREAKER_THRESHOLD/);
    expect(() => loadConfig({ TOCSIN_BREAKER_COOLDOWN_MS: '0' })).toThrow(/TOCSIN_BREAKER_COOLDOWN_MS/);
  });

  it('reads TOCSIN_METRICS_TOKEN (16+ characters; unset leaves /metrics open)', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ TOCSIN_METRICS_TOKEN: 'a-metrics-token-0123' }).metricsToken).toBe('a-metrics-token-0123');
    expect(() => loadConfig({ TOCSIN_METRICS_TOKEN: 'short' })).toThrow(/TOCSIN_METRICS_TOKEN/);
  });
});
