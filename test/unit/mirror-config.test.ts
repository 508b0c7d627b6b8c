import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('the static mirror configuration', () => {
  it('defaults: under the data directory, rebuilt automatically, served at the public URL', () => {
    const c = loadConfig({ TOCSIN_DATA_DIR: '/var/lib/tocsin', TOCSIN_PUBLIC_URL: 'https://tocsin.example.org/' });
    expect(c.mirror).toEqual({
      dir: path.join('/var/lib/tocsin', 'mirror'),
      auto: true,
      baseUrl: 'https://tocsin.example.org',
      publisher: { name: 'tocsin', namespace: 'https://tocsin.example.org', category: 'vendor' },
      // The index links the API's subscribe form only when TOCSIN_PUBLIC_URL says where the API is.
      subscribeUrl: 'https://tocsin.example.org/subscribe',
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      TOCSIN_MIRROR_DIR: '/srv/mirror',
      TOCSIN_MIRROR_AUTO: 'false',
      TOCSIN_MIRROR_URL: 'https://advisories.example.org/acme/',
      TOCSIN_CSAF_PUBLISHER_NAME: 'ACME PSIRT',
      TOCSIN_CSAF_PUBLISHER_NAMESPACE: 'https://acme.example',
      TOCSIN_CSAF_PUBLISHER_CATEGORY: 'coordinator',
    });
    expect(c.mirror).toEqual({
      dir: '/srv/mirror',
      auto: false,
      baseUrl: 'https://advisories.example.org/acme',
      publisher: { name: 'ACME PSIRT', namespace: 'https://acme.example', category: 'coordinator' },
    });
  });

  it('names bad values', () => {
    expect(() => loadConfig({ TOCSIN_MIRROR_URL: 'ftp://x.example', TOCSIN_CSAF_PUBLISHER_CATEGORY: 'vendorish', TOCSIN_MIRROR_AUTO: 'yes' })).toThrow(ConfigError);
    try {
      loadConfig({ TOCSIN_MIRROR_URL: 'ftp://x.example', TOCSIN_CSAF_PUBLISHER_CATEGORY: 'vendorish', TOCSIN_MIRROR_AUTO: 'yes' });
    } catch (err) {
      const text = (err as ConfigError).problems.join('\n');
      for (const name of ['TOCSIN_MIRROR_URL', 'TOCSIN_CSAF_PUBLISHER_CATEGORY', 'TOCSIN_MIRROR_AUTO']) expect(text).toContain(name);
    }
  });
});
