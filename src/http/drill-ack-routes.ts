import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { advisoryIdSchema } from '../advisory/schema';
import type { DrillAckKey } from '../drills/drill-ack-key';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import type { DrillAckRecord, DrillAckStore } from '../storage/drill-ack-store';
import { handle, type Reply } from './http-error';
import { page } from './subscribe-pages';

export interface DrillAckRouteDeps {
  archive: Pick<AdvisoryArchive, 'revisions' | 'get' | 'audience'>;
  drillAcks: DrillAckStore;
  /** The secret the workers derived the links from (drills/drill-ack-key.ts). */
  drillAckKey: () => Promise<DrillAckKey>;
  /** Tocsin's clock. Default: the system's. */
  now?: () => Date;
}

/** The body the confirm button posts (a form): the token from the link, which is the only proof. */
export const drillAckFormSchema = z.object({ token: z.string().max(200) });

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The same page for a forged token, another drill's, a missing one, or no such drill: nothing to learn. */
const unknownLink = (): Reply => page(404, 'Unknown acknowledgement link', '<p>This link does not acknowledge any drill. Use the link from the drill notice itself, whole.</p>');

const alreadyConfirmed = (ack: DrillAckRecord): Reply =>
  page(200, 'Already confirmed', `<p>This drill was already confirmed for you at ${esc(ack.at)}. Nothing more to do, thank you.</p>`);

/**
 * The button a person presses. The link itself records nothing: mail scanners and link previews
 * open links by themselves, and an acknowledgement must measure a person, not a scanner.
 */
const confirmButton = (drillId: string, token: string): Reply =>
  page(
    200,
    'Confirm this drill reached you',
    `<p>This was a drill of the security advisory broadcast: no action is needed beyond this button.</p>
<form method="post" action="/v1/drills/${esc(encodeURIComponent(drillId))}/ack">
<input type="hidden" name="token" value="${esc(token)}">
<p><button type="submit">Confirm receipt</button></p>
</form>`,
  );

const thanks = (ack: DrillAckRecord): Reply => page(200, 'Thank you', `<p>Your confirmation is recorded (${esc(ack.at)}). The operators now know this drill reached a person.</p>`);

/**
 * Public, no login: the link in a drill's email or Slack notice. The token is the only proof, and
 * it is single-use per recipient: the first confirmation is recorded, later ones find it.
 */
export function drillAckRoutes(deps: DrillAckRouteDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());

  /** Whose link this is, or null; the same answer, in kind and in time, for every kind of wrong. */
  async function resolve(id: string, token: unknown): Promise<{ recipient: string; channel: 'email' | 'slack' } | null> {
    if (typeof token !== 'string' || !advisoryIdSchema.safeParse(id).success) return null;
    const latest = (await deps.archive.revisions(id)).at(-1);
    const archived = latest === undefined ? null : await deps.archive.get({ id, revision: latest });
    if (!archived || archived.record.kind !== 'drill') return null;
    const audience = await deps.archive.audience({ id, revision: latest! });
    const email = audience.email ?? [];
    const recipient = (await deps.drillAckKey()).recipientOf(id, token, [...email, ...(audience.slack ?? [])]);
    if (recipient === null) return null;
    return { recipient, channel: email.includes(recipient) ? 'email' : 'slack' };
  }

  const tokenOf = (req: Request): string | undefined => drillAckFormSchema.safeParse(req.body).data?.token;

  router.get(
    '/:id/ack',
    handle(async (req) => {
      const id = String(req.params.id);
      const whose = await resolve(id, req.query.token);
      if (!whose) return unknownLink();
      const earlier = await deps.drillAcks.get(id, whose.recipient);
      return earlier ? alreadyConfirmed(earlier) : confirmButton(id, req.query.token as string);
    }),
  );

  router.post(
    '/:id/ack',
    express.urlencoded({ extended: false, limit: '1kb', parameterLimit: 5 }),
    handle(async (req) => {
      const id = String(req.params.id);
      const whose = await resolve(id, tokenOf(req));
      if (!whose) return unknownLink();
      const { first, ack } = await deps.drillAcks.record(id, { ...whose, at: now().toISOString() });
      return first ? thanks(ack) : alreadyConfirmed(ack);
    }),
  );

  return router;
}
