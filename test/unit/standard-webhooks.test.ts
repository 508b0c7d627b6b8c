import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, isWebhookSecret, signStandardWebhook, webhookSecretPattern } from '../../src/channels/standard-webhooks';

describe('Standard Webhooks signing', () => {
  it('produces headers the official standardwebhooks package verifies', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(webhookSecretPattern);
    const body = JSON.stringify({ document: 'héllo\n', signature: 'x' });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'msg_abc', 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret, 'msg_abc', timestamp, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is rejected by the package for another secret or a changed body', () => {
    const secret = generateWebhookSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const sig = signStandardWebhook(secret, 'msg_1', timestamp, '{"a":1}');
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': sig };
    expect(() => new Webhook(generateWebhookSecret()).verify('{"a":1}', headers)).toThrow();
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
  });
});

describe('new webhook secrets', () => {
  const of = (bytes: number) => `whsec_${Buffer.alloc(bytes, 0xa5).toString('base64')}`;

  it('are accepted from 24 to 64 bytes, padded or not, as the Standard Webhooks specification allows', () => {
    for (const n of [24, 25, 32, 63, 64]) {
      expect(isWebhookSecret(of(n))).toBe(true);
      expect(isWebhookSecret(of(n).replace(/=+$/, ''))).toBe(true);
      expect(() => new Webhook(of(n))).not.toThrow();
    }
    expect(isWebhookSecret(generateWebhookSecret())).toBe(true);
  });

  it('are refused outside that range, including lengths the pattern alone lets through', () => {
    for (const n of [0, 1, 23, 65, 66]) expect(isWebhookSecret(of(n))).toBe(false);
    // 88 base64 characters: the pattern's upper bound, 66 bytes.
    expect(isWebhookSecret(`whsec_${'A'.repeat(88)}`)).toBe(false);
    // Lengths no whole number of bytes has, and padding in the wrong place.
    expect(isWebhookSecret(`whsec_${'A'.repeat(33)}`)).toBe(false);
    expect(isWebhookSecret(`whsec_${'A'.repeat(34)}=`)).toBe(false);
    expect(isWebhookSecret('hunter2')).toBe(false);
  });
});
