import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, signStandardWebhook, webhookSecretPattern } from '../../src/channels/standard-webhooks';

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
