import { forAnyRecipient } from '../../src/channels/channel';
import { createEmailChannel } from '../../src/channels/email';
import { startSmtpSink } from '../support/smtp-sink';
import { channelContract, type PeerMode } from './channel-contract';
import { contractNotice } from './contract-notice';

channelContract('email', async () => {
  let mode: PeerMode = 'accept';
  const replies: Record<PeerMode, { code: number; message: string } | null> = {
    accept: null,
    outage: { code: 421, message: '4.3.2 Service not available, closing transmission channel' },
    refuse: { code: 550, message: '5.1.1 Mailbox unavailable' },
    'rate-limit': { code: 451, message: '4.7.1 Too many messages, slow down' },
  };
  const sink = await startSmtpSink({
    onConnect: () => (mode === 'outage' ? replies.outage : null),
    onRcptTo: () => replies[mode],
  });
  const channel = forAnyRecipient(
    'email',
    createEmailChannel({ smtpUrls: [sink.url], from: 'ACME Security <security@acme.example>', publicUrl: 'http://127.0.0.1:1', concurrency: 2, timeoutMs: 5_000 }),
  );
  return {
    channel,
    recipient: { id: 'rcpt_contract', type: 'email', address: 'ops@example.org', unsubscribe_token: 'contract-token', created_at: '' },
    notice: await contractNotice('email'),
    setMode: (m) => {
      mode = m;
    },
    accepted: () => sink.mails.length,
    rateLimitSeconds: null,
    close: async () => {
      await channel.close();
      await sink.close();
    },
  };
});
