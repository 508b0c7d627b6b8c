import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { isHardBounce, readDeliveryStatus, relayReportIdentity, UnreadableReportError, type BounceEntry } from '../bounces/delivery-status';
import type { RecipientStore } from '../recipients/recipient-store';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { BODY_LIMIT_BYTES, jsonBody } from './json-body';

export interface BounceRouteDeps {
  recipients: RecipientStore;
}

/** A relay's own report, for relays that do not forward RFC 3464 messages (see README "Bounces"). */
export const bounceJsonSchema = z.strictObject({
  bounces: z
    .array(
      z.strictObject({
        address: z.string().max(254).email(),
        /** RFC 3463 enhanced status code. */
        status: z.string().regex(/^[245]\.\d{1,3}\.\d{1,3}$/, 'must be an RFC 3463 status code such as 5.1.1'),
        /** RFC 3464 Action; default failed. */
        action: z.enum(['failed', 'delayed', 'delivered', 'relayed', 'expanded']).optional(),
        /**
         * The relay's own id of this bounce (its event or message id): the same id for the same
         * address again (a retried POST) counts once. Absent: every entry counts.
         */
        id: z.string().min(1).max(256).optional(),
      }),
    )
    .min(1)
    .max(1000),
});

/** Media types that carry a delivery status notification: the report itself, or the whole bounce message. */
const REPORT_TYPES = ['multipart/report', 'message/rfc822'];

/** JSON, or an RFC 3464 report read as raw bytes, each within the API's 1 MiB. */
function reportOrJson(): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: BODY_LIMIT_BYTES });
  const [requireJson, json] = jsonBody() as [RequestHandler, RequestHandler];
  const isReport = (type: string | undefined) => REPORT_TYPES.some((t) => (type ?? '').toLowerCase().startsWith(t));
  return [
    (req, res, next) => (isReport(req.headers['content-type']) ? raw(req, res, next) : requireJson(req, res, next)),
    (req, res, next) => (isReport(req.headers['content-type']) ? next() : json(req, res, next)),
  ];
}

/**
 * Admin: bounces, as the mail relay reports them. Each hard bounce (action failed, status 5.x.x)
 * counts against every email recipient at that address; the third makes it inactive, and it
 * receives nothing more. Delays (4.x.x) and successes count for nothing.
 */
export function bounceRoutes(deps: BounceRouteDeps): Router {
  const router = Router();
  router.post(
    '/',
    ...reportOrJson(),
    handle(async (req) => {
      let entries: BounceEntry[];
      if (Buffer.isBuffer(req.body)) {
        try {
          entries = readDeliveryStatus((req.body as Buffer).toString('utf8'), req.headers['content-type']);
        } catch (err) {
          if (!(err instanceof UnreadableReportError)) throw err;
          throw new HttpError(400, 'invalid_report', `(body): ${err.message}`, [{ field: '(body)', message: err.message }]);
        }
      } else {
        const parsed = bounceJsonSchema.safeParse(req.body);
        if (!parsed.success) throw new HttpError(400, 'invalid_report', 'invalid bounce report', fieldProblems(parsed.error));
        entries = parsed.data.bounces.map((b) => ({
          address: b.address,
          status: b.status,
          action: b.action ?? 'failed',
          ...(b.id !== undefined ? { report: relayReportIdentity(b.id, b.address) } : {}),
        }));
      }
      const bounces = [];
      for (const entry of entries) {
        const hard = isHardBounce(entry);
        const recipients = [];
        let counted = 0;
        let repeated = 0;
        for (const r of await deps.recipients.findByAddress(entry.address)) {
          const outcome = hard ? await deps.recipients.recordHardBounce(r.id, entry.status, entry.report) : undefined;
          if (outcome?.duplicate) repeated += 1;
          else if (outcome) counted += 1;
          const after = outcome?.recipient ?? r;
          recipients.push({ id: after.id, hard_bounces: after.hard_bounces ?? 0, status: after.status ?? 'active' });
        }
        // A report handed over again (the relay retried its POST) counted nothing this time.
        const duplicate = repeated > 0 && counted === 0;
        bounces.push({ address: entry.address, action: entry.action, status: entry.status, hard, duplicate, recipients });
      }
      return { status: 200, body: { bounces } };
    }),
  );
  return router;
}
