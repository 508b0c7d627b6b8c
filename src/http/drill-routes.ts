import { Router } from 'express';
import { z } from 'zod';
import { groupNameSchema } from '../advisory/tlp';
import { channelNames } from '../channels/channel-names';
import type { createAdvisoryIntake } from '../publish/advisory-intake';
import { loadRevisionView, type DeliveryViewDeps } from '../delivery/dead-letters';
import { drillReport, type DrillReport } from '../drills/drill-report';
import { drillReportPage } from '../drills/drill-report-page';
import { advisoryIdSchema } from '../advisory/schema';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { jsonBody } from './json-body';
import type { DrillAckStore } from '../storage/drill-ack-store';

/** `POST /v1/drills`: which channels and which group to drill; absent, every recipient. */
export const drillRequestSchema = z.strictObject({
  channels: z
    .array(z.enum(channelNames))
    .min(1, 'must name at least one channel, or be left out for every channel')
    .max(channelNames.length)
    .refine((c) => new Set(c).size === c.length, 'names a channel twice')
    .optional(),
  group: groupNameSchema.optional(),
});

/** How many drills `GET /v1/drills` lists. */
const RECENT_DRILLS = 50;

export interface DrillRouteDeps extends DeliveryViewDeps {
  intake: Pick<ReturnType<typeof createAdvisoryIntake>, 'drill'>;
  /** Who used the acknowledgement link of a drill's email or Slack notice. */
  drillAcks: Pick<DrillAckStore, 'list'>;
}

/** The drill routes, mounted behind the admin token: a drill is an operator's rehearsal. */
export function drillRoutes(deps: DrillRouteDeps): Router {
  const router = Router();

  router.post(
    '/',
    ...jsonBody(),
    handle(async (req) => {
      const parsed = drillRequestSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, 'invalid_drill', 'invalid drill request', fieldProblems(parsed.error));
      const { channels, group } = parsed.data;
      const result = await deps.intake.drill({ ...(channels ? { channels } : {}), ...(group !== undefined ? { group } : {}) });
      return {
        status: 202,
        headers: { Location: `/v1/drills/${result.record.id}` },
        body: { id: result.record.id, accepted_at: result.record.accepted_at, delivery: result.delivery },
      };
    }),
  );

  /** A drill's report; 404 for an id that is no drill, as for one that does not exist. */
  async function report(id: string): Promise<DrillReport> {
    const parsed = advisoryIdSchema.safeParse(id);
    const latest = parsed.success ? (await deps.archive.revisions(id)).at(-1) : undefined;
    const archived = latest === undefined ? null : await deps.archive.get({ id, revision: latest });
    if (!archived || archived.record.kind !== 'drill') throw new HttpError(404, 'not_found', `no drill ${id}`);
    const view = await loadRevisionView(deps, archived.record);
    return drillReport(archived.record, view.audience, view.states, await deps.drillAcks.list(id));
  }

  router.get(
    '/',
    handle(async () => {
      const drills = (await deps.archive.records()).filter((r) => r.kind === 'drill');
      // The newest first; each report stays readable at /v1/drills/:id for as long as the archive keeps it.
      const recent = drills.sort((a, b) => b.accepted_at.localeCompare(a.accepted_at)).slice(0, RECENT_DRILLS);
      return { status: 200, body: { drills: recent.map((r) => ({ id: r.id, started_at: r.accepted_at, title: r.title })) } };
    }),
  );

  router.get('/:id', handle(async (req) => ({ status: 200, body: await report(String(req.params.id)) })));

  router.get(
    '/:id/report.html',
    handle(async (req) => ({
      status: 200,
      type: 'text/html',
      // Nothing from anywhere, no script: the page is complete in itself.
      headers: { 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" },
      body: drillReportPage(await report(String(req.params.id))),
    })),
  );

  return router;
}
