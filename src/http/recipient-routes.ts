import { Router } from 'express';
import type { ChannelName } from '../channels/channel-names';
import { generateWebhookSecret } from '../channels/standard-webhooks';
import type { ResolveHost } from '../net/resolve-host';
import { targetUrlProblem } from '../net/target-check';
import {
  createRecipientSchema,
  newRecipientId,
  newUnsubscribeToken,
  publicView,
  recipientTargetUrl,
  type CreateRecipient,
  type Recipient,
} from '../recipients/recipient';
import type { RecipientStore } from '../recipients/recipient-store';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { jsonBody } from './json-body';

export interface RecipientRouteDeps {
  recipients: RecipientStore;
  allowPrivateTargets: boolean;
  /** Resolves a target's host for the enrolment check: the resolver the workers connect with (see RuntimeDeps). */
  resolveHost: ResolveHost;
  /** Channels this installation can deliver over (email needs SMTP relays configured). */
  enabledChannels: readonly ChannelName[];
}

const SLACK_API_URL = 'https://slack.com/api/';

function build(input: CreateRecipient, common: Pick<Recipient, 'id' | 'created_at' | 'description' | 'groups' | 'tlp' | 'filter'>): Recipient {
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

/** Admin: enrol, list and remove recipients. A generated webhook secret is shown once, at creation. */
export function recipientRoutes(deps: RecipientRouteDeps): Router {
  const router = Router();

  router.post(
    '/',
    ...jsonBody(),
    handle(async (req) => {
      const parsed = createRecipientSchema.safeParse(req.body);
      if (!parsed.success) {
        throw new HttpError(
          400,
          'invalid_recipient',
          'invalid recipient',
          fieldProblems(parsed.error),
        );
      }
      const input = parsed.data;
      if (!deps.enabledChannels.includes(input.type)) {
        const hint = input.type === 'email' ? ': set TOCSIN_SMTP_URLS and TOCSIN_MAIL_FROM' : '';
        throw new HttpError(400, 'channel_disabled', `the ${input.type} channel is off${hint}`, [{ field: 'type', message: `the ${input.type} channel is off${hint}` }]);
      }
      const target = recipientTargetUrl(input);
      const problem = target ? await targetUrlProblem(target.url, deps.allowPrivateTargets, deps.resolveHost) : null;
      if (target && problem) {
        throw new HttpError(400, 'forbidden_target', `${target.field}: ${problem}`, [{ field: target.field, message: problem }]);
      }
      const recipient = build(input, {
        id: newRecipientId(),
        created_at: new Date().toISOString(),
        ...(input.description ? { description: input.description } : {}),
        groups: input.groups ?? [],
        tlp: input.tlp ?? 'CLEAR',
        ...(input.filter ? { filter: input.filter } : {}),
      });
      await deps.recipients.add(recipient);
      // A secret tocsin generated is shown this once; one the admin supplied is never echoed.
      const shownOnce = recipient.type === 'webhook' && input.type === 'webhook' && input.secret === undefined ? { secret: recipient.secret } : {};
      return {
        status: 201,
        headers: { Location: `/v1/recipients/${recipient.id}` },
        body: { ...publicView(recipient), ...shownOnce },
      };
    }),
  );

  router.get(
    '/',
    handle(() => ({ status: 200, body: { recipients: deps.recipients.list().map(publicView) } })),
  );

  // Where the 201's Location points.
  router.get(
    '/:id',
    handle((req) => {
      const recipient = deps.recipients.get(String(req.params.id));
      if (!recipient) throw new HttpError(404, 'not_found', `no recipient ${String(req.params.id)}`);
      return { status: 200, body: publicView(recipient) };
    }),
  );

  router.delete(
    '/:id',
    handle(async (req) => {
      const removed = await deps.recipients.remove(String(req.params.id));
      if (!removed) throw new HttpError(404, 'not_found', `no recipient ${String(req.params.id)}`);
      return { status: 204 };
    }),
  );

  return router;
}
