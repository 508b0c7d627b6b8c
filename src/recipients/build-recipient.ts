import { generateWebhookSecret } from '../channels/standard-webhooks';
import { newUnsubscribeToken, type CreateRecipient, type Recipient } from './recipient';

/** Where Slack's Web API is unless a recipient names another (GovSlack). */
export const SLACK_API_URL = 'https://slack.com/api/';

/** What every stored recipient has, whatever its channel. */
export type CommonFields = Pick<Recipient, 'id' | 'created_at' | 'description' | 'groups' | 'tlp' | 'filter'>;

/** The routing fields and description a body gives, with the defaults for those it leaves out. */
export function commonFields(input: CreateRecipient, id: string, createdAt: string): CommonFields {
  return {
    id,
    created_at: createdAt,
    ...(input.description ? { description: input.description } : {}),
    groups: input.groups ?? [],
    tlp: input.tlp ?? 'CLEAR',
    ...(input.filter ? { filter: input.filter } : {}),
  };
}

/** The recipient a validated body enrols, with a generated webhook secret when it gives none. */
export function buildRecipient(input: CreateRecipient, common: CommonFields): Recipient {
  switch (input.type) {
    case 'webhook':
      return { ...common, type: 'webhook', url: input.url, secret: input.secret ?? generateWebhookSecret() };
    case 'email':
      return { ...common, type: 'email', address: input.address, unsubscribe_token: newUnsubscribeToken() };
    case 'slack':
      return { ...common, type: 'slack', channel_id: input.channel_id, token: input.token, api_url: (input.api_url ?? SLACK_API_URL).replace(/\/?$/, '/') };
    case 'mastodon':
      return { ...common, type: 'mastodon', instance_url: input.instance_url.replace(/\/+$/, ''), access_token: input.access_token };
  }
}
