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
});
