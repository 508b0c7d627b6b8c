import { forAnyRecipient } from '../../src/channels/channel';
import { createEmailChannel } from '../../src/channels/email';
import { createMastodonChannel } from '../../src/channels/mastodon';
import { createSlackChannel } from '../../src/channels/slack';
import { generateWebhookSecret } from '../../src/channels/standard-webhooks';
import { createWebhookChannel } from '../../src/channels/webhook';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startFakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack } from '../support/fake-slack';
import { startSmtpSink } from '../support/smtp-sink';
import { startReceiver } from '../support/webhook-receiver';
import { noticeSignatureContract } from './notice-signature-contract';

/** Each channel's real loopback peer, and what a reader saves from it. */

noticeSignatureContract('webhook', async () => {
  const receiver = await startReceiver();
  const channel = forAnyRecipient('webhook', createWebhookChannel({ timeoutMs: 5_000, allowPrivateTargets: true, userAgent: 'contract', resolveHost: systemResolveHost }));
  return {
    channel,
    recipient: { id: 'rcpt_sig', type: 'webhook', url: receiver.url(), secret: generateWebhookSecret(), created_at: '' },
    lastSaved: async () => receiver.requests.at(-1)!.body,
    close: async () => {
      await channel.close();
      await receiver.close();
    },
  };
});

noticeSignatureContract('email', async () => {
  const sink = await startSmtpSink();
  const channel = forAnyRecipient('email', createEmailChannel({ smtpUrls: [sink.url], from: 'ACME Security <security@acme.example>', publicUrl: 'http://127.0.0.1:1', concurrency: 1, timeoutMs: 5_000 }));
  return {
    channel,
    recipient: { id: 'rcpt_sig', type: 'email', address: 'ops@example.org', unsubscribe_token: 'sig-token', created_at: '' },
    // The .eml as a mail client saves it: the bytes the relay received.
    lastSaved: async () => sink.mails.at(-1)!.raw.toString('utf8'),
    close: async () => {
      await channel.close();
      await sink.close();
    },
  };
});

noticeSignatureContract('slack', async () => {
  const slack = await startFakeSlack();
  const channel = forAnyRecipient('slack', createSlackChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost }));
  return {
    channel,
    recipient: { id: 'rcpt_sig', type: 'slack', channel_id: 'C0SIGNED', token: 'xoxb-sig-0000', api_url: slack.apiUrl, created_at: '' },
    // The message as conversations.history hands it back (newest first), escapes and all.
    lastSaved: async () => JSON.stringify((await slack.history('C0SIGNED')).messages[0]),
    close: async () => {
      await channel.close();
      await slack.close();
    },
  };
});

noticeSignatureContract('mastodon', async () => {
  const token = 'sig-token-0123456789';
  // The stock 500-character limit: longer notices become threads, the signed block cut across statuses.
  const instance = await startFakeMastodon({ maxCharacters: 500, tokens: [token] });
  const channel = forAnyRecipient('mastodon', createMastodonChannel({ timeoutMs: 5_000, allowPrivateTargets: true, resolveHost: systemResolveHost }));
  return {
    channel,
    recipient: { id: 'rcpt_sig', type: 'mastodon', instance_url: instance.url, access_token: token, created_at: '' },
    // The thread as a reader fetches it from the API: the first status and its context.
    lastSaved: async () => {
      const first = instance.statuses.filter((s) => s.in_reply_to_id === null).at(-1)!;
      const status = (await (await fetch(`${instance.url}/api/v1/statuses/${first.id}`)).json()) as unknown;
      const context = (await (await fetch(`${instance.url}/api/v1/statuses/${first.id}/context`)).json()) as unknown;
      return JSON.stringify([status, context]);
    },
    close: async () => {
      await channel.close();
      await instance.close();
    },
  };
});
