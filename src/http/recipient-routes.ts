import { Router } from 'express';
import { generateWebhookSecret } from '../channels/standard-webhooks';
import { targetUrlProblem } from '../net/target-check';
import { createRecipientSchema, newRecipientId, publicView, type Recipient } from '../recipients/recipient';
import type { RecipientStore } from '../recipients/recipient-store';
import { handle, HttpError } from './http-error';
import { jsonBody } from './json-body';

export interface RecipientRouteDeps {
  recipients: RecipientStore;
  allowPrivateTargets: boolean;
}

/** Admin: enrol, list and remove recipients. Secrets are shown once, at creation, if generated. */
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
          parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
        );
      }
      const input = parsed.data;
      const problem = await targetUrlProblem(input.url, deps.allowPrivateTargets);
      if (problem) throw new HttpError(400, 'forbidden_target', `url: ${problem}`, [{ field: 'url', message: problem }]);
      const generated = input.secret === undefined;
      const recipient: Recipient = {
        id: newRecipientId(),
        type: 'webhook',
        url: input.url,
        secret: input.secret ?? generateWebhookSecret(),
        created_at: new Date().toISOString(),
        ...(input.description ? { description: input.description } : {}),
      };
      await deps.recipients.add(recipient);
      return {
        status: 201,
        headers: { Location: `/v1/recipients/${recipient.id}` },
        body: { ...publicView(recipient), ...(generated ? { secret: recipient.secret } : {}) },
      };
    }),
  );

  router.get(
    '/',
    handle(() => ({ status: 200, body: { recipients: deps.recipients.list().map(publicView) } })),
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
