import { forAnyRecipient } from '../../src/channels/channel';
import { createSlackChannel } from '../../src/channels/slack';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startFakeSlack, type SlackAnswer } from '../support/fake-slack';
import { channelContract, type PeerMode } from './channel-contract';
import { contractNotice } from './contract-notice';

channelContract('slack', async () => {
  let mode: PeerMode = 'accept';
  let accepted = 0;
  const answers: Record<PeerMode, SlackAnswer> = {
    accept: { ok: true },
    outage: { status: 500 },
    refuse: { ok: false, error: 'channel_not_found' },
    'rate-limit': { status: 429, retryAfter: 30 },
  };
  const slack = await startFakeSlack(() => {
    if (mode === 'accept') accepted += 1;
    return answers[mode];
  });
  const channel = forAnyRecipient('slack', createSlackChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost }));
  return {
    channel,
    recipient: { id: 'rcpt_contract', type: 'slack', channel_id: 'C0CONTRACT', token: 'xoxb-contract-0000', api_url: slack.apiUrl, created_at: '' },
    notice: await contractNotice('slack'),
    setMode: (m) => {
      mode = m;
    },
    accepted: () => accepted,
    rateLimitSeconds: 30,
    close: async () => {
      await channel.close();
      await slack.close();
    },
  };
});
