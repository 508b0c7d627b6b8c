import { loadConfig } from '../../src/config';
import { configSecrets, createLogger } from '../../src/log';
import type { LogFormat } from '../../src/log-format';

/** A logger at trace level whose lines land in an array. */
function capture(secrets: readonly string[] = [], format?: LogFormat) {
  const lines: string[] = [];
  const log = createLogger('trace', { secrets, destination: { write: (s: string) => void lines.push(s) }, ...(format ? { format } : {}) });
  return { log, lines, text: () => lines.join('') };
}

describe('log redaction', () => {
  it('redacts secret-bearing keys of logged objects: recipients, config, headers', () => {
    const { log, text, lines } = capture();
    const recipient = { id: 'rcpt_1', type: 'webhook', url: 'https://partner.example/hook', secret: 'whsec_c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTAxMjM0' };
    log.info({ recipient }, 'a recipient');
    log.info({ recipient: { type: 'slack', token: 'opaque-slack-value-1' } }, 'slack');
    log.info({ recipient: { type: 'mastodon', access_token: 'opaque-mastodon-value-1' } }, 'mastodon');
    log.info({ recipient: { type: 'email', unsubscribe_token: 'opaque-unsubscribe-1' } }, 'email');
    log.info({ config: { adminToken: 'opaque-admin-value-1', keyPassphrase: 'opaque-pass-value-1', metricsToken: 'opaque-metrics-1', redisUrl: 'redis://u:opaque-redis-1@h' } }, 'config');
    log.info({ config: { email: { smtpUrls: ['smtps://u:opaque-smtp-1@h'] } } }, 'nested config');
    log.info({ headers: { authorization: 'opaque-auth-value-1' }, req: { headers: { authorization: 'opaque-auth-value-2' } } }, 'headers');
    log.info({ passphrase: 'opaque-pass-value-2', password: 'opaque-password-1', token: 'opaque-token-1' }, 'top level');
    for (const secret of [
      'c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTAxMjM0', 'opaque-slack-value-1', 'opaque-mastodon-value-1', 'opaque-unsubscribe-1',
      'opaque-admin-value-1', 'opaque-pass-value-1', 'opaque-metrics-1', 'opaque-redis-1', 'opaque-smtp-1',
      'opaque-auth-value-1', 'opaque-auth-value-2', 'opaque-pass-value-2', 'opaque-password-1', 'opaque-token-1',
    ]) {
      expect(text()).not.toContain(secret);
    }
    // Redacted, not dropped: the line still says what it was about.
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'a recipient', recipient: { id: 'rcpt_1', secret: '[redacted]' } });
  });

  it('scrubs credentials out of free text such as error messages, whatever the key', () => {
    const { log, text } = capture();
    log.warn({ err: 'relay failed: smtps://mailer:hunter2-smtp@smtp.example.org:465 refused' }, 'send failed');
    log.warn({ err: new Error('connect to redis://:redis-pass-42@redis.internal:6379 failed') }, 'redis');
    log.warn({ detail: 'got Authorization: Bearer abcdef0123456789 back' }, 'echo');
    // JSON writes the tab as `\t`: the shape must still see a bearer token behind it.
    log.warn({ detail: 'got Authorization: Bearer\ttab-separated-bearer-7 back' }, 'echo');
    log.warn({ detail: 'token xoxb-1234-5678-abcdefghijkl leaked in a message' }, 'slack');
    log.warn({ detail: 'secret whsec_AAAABBBBCCCCDDDDEEEEFFFF0000111122223333 leaked' }, 'webhook');
    log.warn('message text with https://user:pw-in-message@host.example/ inside');
    for (const secret of ['hunter2-smtp', 'redis-pass-42', 'abcdef0123456789', 'tab-separated-bearer-7', '1234-5678-abcdefghijkl', 'AAAABBBBCCCCDDDDEEEEFFFF0000111122223333', 'pw-in-message']) {
      expect(text()).not.toContain(secret);
    }
    // What is not a secret stays readable.
    expect(text()).toContain('smtp.example.org:465 refused');
    expect(text()).toContain('redis.internal:6379');
  });

  it('never writes a configured secret value, under any key or inside any text', () => {
    const config = loadConfig({
      TOCSIN_ADMIN_TOKEN: 'admin-token-with-no-shape-0001',
      TOCSIN_METRICS_TOKEN: 'metrics-token-no-shape-0002',
      TOCSIN_KEY_PASSPHRASE: 'passphrase with "quotes" 0003',
      TOCSIN_SMTP_URLS: 'smtp://user:p%40ss-word-0004@127.0.0.1:2525,smtps://u2:second-relay-0005@127.0.0.1:4650',
      TOCSIN_MAIL_FROM: 'sec@example.org',
      REDIS_URL: 'redis://:redis-secret-0006@127.0.0.1:6379',
    });
    const { log, text } = capture(configSecrets(config));
    log.info({ note: 'admin-token-with-no-shape-0001 in a field' }, 'metrics-token-no-shape-0002 in a message');
    log.info({ what: 'passphrase with "quotes" 0003' }, 'quoted');
    log.info({ what: 'decoded p@ss-word-0004 and encoded p%40ss-word-0004' }, 'smtp');
    log.info({ what: ['second-relay-0005', 'redis-secret-0006'] }, 'more');
    for (const secret of ['admin-token-with-no-shape-0001', 'metrics-token-no-shape-0002', 'quotes\\" 0003', 'ss-word-0004', 'second-relay-0005', 'redis-secret-0006']) {
      expect(text()).not.toContain(secret);
    }
    expect(text()).toContain('in a field');
  });
});

describe('readable lines for a terminal (TOCSIN_LOG_FORMAT=pretty)', () => {
  it('writes pino-pretty lines, not JSON', () => {
    const { log, lines } = capture([], 'pretty');
    log.info({ advisory: 'ACME-2026-0001', revision: 2 }, 'advisory accepted and archived');
    expect(lines).toHaveLength(1);
    expect(() => JSON.parse(lines[0]!)).toThrow();
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO \(tocsin\): advisory accepted and archived\n/);
    expect(lines[0]).toContain('advisory: "ACME-2026-0001"');
  });

  it('goes through every redaction layer: secret keys, secret shapes, configured secret values', () => {
    const secrets = configSecrets(loadConfig({ TOCSIN_ADMIN_TOKEN: 'admin-token-pretty-path-0001' }));
    const { log, text } = capture(secrets, 'pretty');
    log.info({ recipient: { id: 'rcpt_1', secret: 'whsec_c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTAxMjM0', token: 'opaque-pretty-token-1' } }, 'a recipient');
    log.warn({ err: new Error('connect to redis://:redis-pretty-pass@redis.internal:6379 failed') }, 'redis');
    log.warn({ detail: 'token xoxb-1234-5678-prettyprettyx leaked' }, 'slack said admin-token-pretty-path-0001');
    // JSON escapes the tab, so no shape matches the JSON line; pino-pretty prints it as a tab.
    log.warn('echoed Authorization: Bearer\tpretty-bearer-value-9');
    for (const secret of ['c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTAxMjM0', 'opaque-pretty-token-1', 'redis-pretty-pass', 'prettyprettyx', 'admin-token-pretty-path-0001', 'pretty-bearer-value-9']) {
      expect({ secret, printed: text().includes(secret) }).toEqual({ secret, printed: false });
    }
    expect(text()).toContain('redis.internal:6379');
    expect(text()).toContain('[redacted]');
  });

  it('is chosen by `auto` only for stdout on a terminal: a given destination gets JSON', () => {
    const { log, lines } = capture([], 'auto');
    log.info('to a file');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'to a file' });
  });
});
