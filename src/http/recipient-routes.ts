import { Router } from 'express';
import type { ChannelName } from '../channels/channel-names';
import type { ResolveHost } from '../net/resolve-host';
import { targetUrlProblem } from '../net/target-check';
import {
  changeableFields,
  createRecipientSchema,
  newRecipientId,
  publicView,
  recipientTargetUrl,
  routingChangeProblem,
  updateRecipientSchema,
  type Recipient,
} from '../recipients/recipient';
import { buildRecipient, commonFields } from '../recipients/build-recipient';
import type { RecipientStore } from '../recipients/recipient-store';
import type { FieldProblem } from '../publish/intake-errors';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { jsonBody } from './json-body';
import { recipientImportRoute } from './recipient-import-route';

export interface RecipientRouteDeps {
  recipients: RecipientStore;
  allowPrivateTargets: boolean;
  /** Resolves a target's host for the enrolment check: the resolver the workers connect with (see RuntimeDeps). */
  resolveHost: ResolveHost;
  /** Channels this installation can deliver over (email needs SMTP relays configured). */
  enabledChannels: readonly ChannelName[];
  /** A private directory where an import's checked lines wait (TOCSIN_DATA_DIR/import-spool). */
  importSpoolDir: string;
}

/** Every field a recipient is enrolled or stored with, on any channel. */
const RECIPIENT_FIELDS = new Set<string>(['id', 'created_at', 'unsubscribe_token', ...createRecipientSchema.options.flatMap((o) => Object.keys(o.shape))]);

/**
 * A field of the recipient that a PATCH cannot change (where notices go, a secret) is told apart
 * from one that does not exist at all: both are refused, only the message differs.
 */
function unchangeable(problem: FieldProblem): FieldProblem {
  if (!RECIPIENT_FIELDS.has(problem.field) || (changeableFields as readonly string[]).includes(problem.field)) return problem;
  return { field: problem.field, message: `cannot be changed: a PATCH changes only ${changeableFields.join(', ')} (to change where notices go or a secret, remove the recipient and enrol it again)` };
}

async function* publicViews(recipients: AsyncIterable<Recipient>): AsyncGenerator<ReturnType<typeof publicView>> {
  for await (const r of recipients) yield publicView(r);
}

const notFound = (id: string) => new HttpError(404, 'not_found', `no recipient ${id}`);

/** Admin: enrol, list, change the routing of, and remove recipients. A generated webhook secret is shown once, at creation. */
export function recipientRoutes(deps: RecipientRouteDeps): Router {
  const router = Router();

  // Before the routes below: its body is a stream of lines, not one JSON document.
  router.post('/import', recipientImportRoute(deps));

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
      const recipient = buildRecipient(input, commonFields(input, newRecipientId(), new Date().toISOString()));
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

  // Streamed: the body is as large as the directory, which is never held at once.
  router.get(
    '/',
    handle(() => ({ status: 200, stream: { before: {}, key: 'recipients', items: publicViews(deps.recipients.all()) } })),
  );

  // Where the 201's Location points.
  router.get(
    '/:id',
    handle(async (req) => {
      const recipient = await deps.recipients.get(String(req.params.id));
      if (!recipient) throw notFound(String(req.params.id));
      return { status: 200, body: publicView(recipient) };
    }),
  );

  router.patch(
    '/:id',
    ...jsonBody(),
    handle(async (req) => {
      const id = String(req.params.id);
      // An unknown id is a 404 whatever the body, as GET answers it.
      const recipient = await deps.recipients.get(id);
      if (!recipient) throw notFound(id);
      const parsed = updateRecipientSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, 'invalid_recipient', 'invalid change', fieldProblems(parsed.error).map(unchangeable));
      const problem = routingChangeProblem(recipient, parsed.data);
      if (problem) throw new HttpError(400, 'invalid_recipient', `${problem.field}: ${problem.message}`, [problem]);
      const updated = await deps.recipients.update(id, parsed.data);
      if (!updated) throw notFound(id);
      return { status: 200, body: publicView(updated) };
    }),
  );

  router.delete(
    '/:id',
    handle(async (req) => {
      const removed = await deps.recipients.remove(String(req.params.id));
      if (!removed) throw notFound(String(req.params.id));
      return { status: 204 };
    }),
  );

  return router;
}
