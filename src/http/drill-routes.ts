import { Router } from 'express';
import { z } from 'zod';
import { groupNameSchema } from '../advisory/tlp';
import { channelNames } from '../channels/channel-names';
import type { createAdvisoryIntake } from '../publish/advisory-intake';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { jsonBody } from './json-body';

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

export interface DrillRouteDeps {
  intake: Pick<ReturnType<typeof createAdvisoryIntake>, 'drill'>;
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

  return router;
}
