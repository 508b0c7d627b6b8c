import { Router } from 'express';
import { z } from 'zod';
import type { AdvisoryRef } from '../advisory/record';
import { advisoryIdSchema } from '../advisory/schema';
import { channelNames } from '../channels/channel-names';
import { listDeadLetters, type DeliveryViewDeps } from '../delivery/dead-letters';
import { NotReplayableError, UnknownDeliveryError, type DeliveryReplayer } from '../queue/replay-deliveries';
import { fieldProblems, revisionQuery } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { jsonBody } from './json-body';

export interface DeliveryRouteDeps extends DeliveryViewDeps {
  replayer: DeliveryReplayer;
}

export const listQuerySchema = z
  .strictObject({
    state: z.literal('failed', { message: 'only failed deliveries are listed here; GET /v1/advisories/:id/deliveries shows every state' }).default('failed'),
    channel: z.enum(channelNames).optional(),
    advisory: advisoryIdSchema.optional(),
    revision: revisionQuery.optional(),
  })
  .refine((q) => q.revision === undefined || q.advisory !== undefined, { path: ['revision'], message: 'needs advisory' });

export const replaySchema = z
  .strictObject({
    advisory: advisoryIdSchema.optional(),
    revision: z.number().int().positive().optional(),
    channel: z.enum(channelNames).optional(),
    recipients: z.array(z.string().min(1).max(200)).min(1).max(1000).optional(),
    all_failed: z.literal(true).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.advisory === undefined && b.all_failed === undefined) {
      ctx.addIssue({ code: 'custom', path: ['advisory'], message: 'name an advisory, or set all_failed: true' });
    }
    if (b.advisory !== undefined && b.all_failed !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['all_failed'], message: 'cannot be combined with advisory' });
    }
    for (const field of ['revision', 'recipients'] as const) {
      if (b[field] !== undefined && b.advisory === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'needs advisory' });
    }
  });

/** Admin: list dead letters (failed deliveries) and replay them. */
export function deliveryRoutes(deps: DeliveryRouteDeps): Router {
  const router = Router();

  /** The revision asked for, or the latest; 404 when the advisory or revision is unknown. */
  async function resolve(id: string, revision: number | undefined): Promise<AdvisoryRef> {
    const revisions = await deps.archive.revisions(id);
    if (revisions.length === 0) throw new HttpError(404, 'not_found', `no advisory ${id}`);
    const chosen = revision ?? revisions.at(-1)!;
    if (!revisions.includes(chosen)) throw new HttpError(404, 'not_found', `${id} has no revision ${chosen}`);
    return { id, revision: chosen };
  }

  router.get(
    '/',
    handle(async (req) => {
      const parsed = listQuerySchema.safeParse(req.query);
      if (!parsed.success) throw new HttpError(400, 'invalid_query', 'invalid query', fieldProblems(parsed.error));
      const q = parsed.data;
      if (q.advisory !== undefined) await resolve(q.advisory, q.revision);
      const deliveries = await listDeadLetters(deps, {
        ...(q.advisory !== undefined ? { advisory: q.advisory } : {}),
        ...(q.revision !== undefined ? { revision: q.revision } : {}),
        ...(q.channel !== undefined ? { channel: q.channel } : {}),
      });
      return { status: 200, body: { state: q.state, count: deliveries.length, deliveries } };
    }),
  );

  router.post(
    '/replay',
    ...jsonBody(),
    handle(async (req) => {
      const parsed = replaySchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, 'invalid_replay', 'invalid replay request', fieldProblems(parsed.error));
      const b = parsed.data;
      const channel = b.channel !== undefined ? { channel: b.channel } : {};
      try {
        const outcome =
          b.advisory !== undefined
            ? await deps.replayer.replay({ ref: await resolve(b.advisory, b.revision), ...channel, ...(b.recipients ? { recipients: b.recipients } : {}) })
            : await deps.replayer.replay({ allFailed: true, ...channel });
        return { status: 202, body: outcome };
      } catch (err) {
        if (err instanceof UnknownDeliveryError) throw new HttpError(404, 'not_found', err.message, err.problems);
        if (err instanceof NotReplayableError) throw new HttpError(409, 'not_replayable', err.message, err.problems);
        throw err;
      }
    }),
  );

  return router;
}
