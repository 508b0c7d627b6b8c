import { forAnyRecipient } from '../../src/channels/channel';
import { createMastodonChannel } from '../../src/channels/mastodon';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startFakeMastodon } from '../support/fake-mastodon';
import { channelContract, type PeerMode } from './channel-contract';
import { contractNotice } from './contract-notice';

channelContract('mastodon', async () => {
  let mode: PeerMode = 'accept';
  const token = 'good-token-0123456789';
  // A limit that holds the whole notice, so one send is one status and `accepted` counts sends.
  const instance = await startFakeMastodon({
    maxCharacters: 20_000,
    tokens: [token],
    onPost: () => {
      switch (mode) {
        case 'accept':
          return undefined;
        case 'outage':
          return { status: 503, error: 'Service Unavailable' };
        case 'refuse':
          return { status: 401, error: 'The access token is invalid' };
        case 'rate-limit':
          return { status: 429, error: 'Too many requests', headers: { 'X-RateLimit-Reset': new Date(Date.now() + 30_000).toISOString() } };
      }
    },
  });
  const channel = forAnyRecipient('mastodon', createMastodonChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost }));
  return {
    channel,
    recipient: { id: 'rcpt_contract', type: 'mastodon', instance_url: instance.url, access_token: token, created_at: '' },
    notice: await contractNotice('mastodon'),
    setMode: (m) => {
      mode = m;
    },
    accepted: () => instance.statuses.filter((s) => s.in_reply_to_id === null).length,
    rateLimitSeconds: 30,
    close: async () => {
      await channel.close();
      await instance.close();
    },
  };
});
