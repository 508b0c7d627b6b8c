import { forAnyRecipient } from '../../src/channels/channel';
import { generateWebhookSecret } from '../../src/channels/standard-webhooks';
import { createWebhookChannel } from '../../src/channels/webhook';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startReceiver } from '../support/webhook-receiver';
import { channelContract, type PeerMode } from './channel-contract';

channelContract('webhook', async () => {
  let mode: PeerMode = 'accept';
  let accepted = 0;
  const receiver = await startReceiver(() => {
    switch (mode) {
      case 'accept':
        accepted += 1;
        return { status: 204 };
      case 'outage':
        return { status: 503 };
      case 'refuse':
        return { status: 410 };
      case 'rate-limit':
        return { status: 429, headers: { 'Retry-After': '30' } };
    }
  });
  const channel = forAnyRecipient('webhook', createWebhookChannel({ timeoutMs: 2_000, allowPrivateTargets: true, userAgent: 'contract', resolveHost: systemResolveHost }));
  return {
    channel,
    recipient: { id: 'rcpt_contract', type: 'webhook', url: receiver.url(), secret: generateWebhookSecret(), created_at: new Date().toISOString() },
    notice: { ref: { id: 'C-1', revision: 1 }, messageId: 'msg_contract', payload: '{"document":"x","signature":"y"}', acceptedAt: new Date().toISOString() },
    setMode: (m) => {
      mode = m;
    },
    accepted: () => accepted,
    rateLimitSeconds: 30,
    close: async () => {
      await channel.close();
      await receiver.close();
    },
  };
});
