import { timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { AdvisoryRef } from '../advisory/record';
import { advisoryIdSchema } from '../advisory/schema';
import { channelNames, type ChannelName } from '../channels/channel-names';
import type { DeliveryStateStore } from '../delivery/delivery-state';
import type { DeliveryReceipts } from '../delivery/receipts';
import type { createAdvisoryIntake, IntakeResult } from '../publish/advisory-intake';
import { MAX_SIGNATURES } from '../publish/signature-policy';
import { loadRevisionView } from '../delivery/dead-letters';
import { publicDeliveryView } from '../delivery/public-delivery-view';
import type { ScheduledRelease } from '../release/release-step';
import { publicView } from '../release/public-view';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { HoldStore } from '../storage/hold-store';
import { fieldProblems, revisionQuery } from '../util/zod-fields';
import { isAdminRequest, optionalAdminAuth } from './admin-auth';
import { handle, HttpError, type Reply } from './http-error';
import { BODY_LIMIT_BYTES, jsonBody } from './json-body';
import { ViewBudgetBusyError, type ViewBudgets } from './view-budget';

export const submissionSchema = z.strictObject({
  document: z.string().min(1, 'must not be empty').max(BODY_LIMIT_BYTES),
  signatures: z
    .array(z.string().min(1).max(64 * 1024))
    .min(1, 'needs at least one armored detached signature')
    .max(MAX_SIGNATURES),
});

export const signaturesSchema = submissionSchema.pick({ signatures: true });

/** A signed document's SHA-256 as the records spell it: 64 lower-case hex digits. */
const sha256Query = z.string().regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the signed document: 64 lower-case hex digits');

/** Compares two hex digests in constant time: the digest is the secret here. */
function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The answer to a submission or to added signatures. */
function intakeReply(result: IntakeResult): Reply {
  if (result.outcome === 'held') {
    const { hold } = result;
    return { status: 202, headers: { Location: `/v1/advisories/${hold.id}?revision=${hold.revision}` }, body: hold };
  }
  return {
    status: result.outcome === 'accepted' ? 202 : 200,
    headers: { Location: `/v1/advisories/${result.record.id}?revision=${result.record.revision}` },
    body: { ...result.record, status: result.outcome, delivery: result.delivery },
  };
}

export interface AdvisoryRouteDeps {
  intake: ReturnType<typeof createAdvisoryIntake>;
  archive: AdvisoryArchive;
  holds: HoldStore;
  deliveries: DeliveryStateStore;
  /** The durable receipts: what each recipient's delivery came to, after Redis lost its copy too. */
  receipts: DeliveryReceipts;
  /**
   * With it, `GET /:id/deliveries` shows an admin the full error text, `GET /:id` held revisions,
   * and every read the revisions not yet public (see optionalAdminAuth).
   */
  adminToken: string | undefined;
  /** Tocsin's clock, which decides when an embargo ends for the public reads. Default: the system clock. */
  now?: () => Date;
  /** Who waits for a revision's embargo to end, and when (release/release-step.ts): the deliveries read shows it as `scheduled`. */
  scheduledRelease?: (ref: AdvisoryRef) => Promise<ScheduledRelease | null>;
  /** How many recipients' states the deliveries reads may hold at once, the public's and the admin's apart. */
  viewBudgets: ViewBudgets;
}

/**
 * The deliveries read's `scheduled`: recipients held back by an embargo, not yet deliveries (they
 * have no state), so apart from `deliveries` and the counts, which settle without them. Only an
 * admin sees which recipients.
 */
function scheduledView(s: ScheduledRelease, admin: boolean) {
  const recipients = (Object.entries(s.audience) as [ChannelName, string[]][]).flatMap(([channel, ids]) => ids.map((recipient) => ({ recipient, channel })));
  const byChannel: Partial<Record<ChannelName, number>> = {};
  for (const r of recipients) byChannel[r.channel] = (byChannel[r.channel] ?? 0) + 1;
  return { release_at: s.release_at, count: recipients.length, by_channel: byChannel, ...(admin ? { recipients } : {}) };
}

export function advisoryRoutes(deps: AdvisoryRouteDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());

  /**
   * The archived revisions of `id` this request may read, lowest first: all of them for an admin;
   * for anyone else the public ones (release/public-view.ts), so that a revision under embargo or
   * above TLP:CLEAR is answered exactly as one that does not exist. `proven` also lets through
   * a revision whose signed document's SHA-256 the request gives (see documentProof).
   */
  async function readable(req: Request, id: string, proven?: string): Promise<number[]> {
    if (isAdminRequest(req)) return deps.archive.revisions(id);
    const records = await deps.archive.records();
    const shown = publicView(records, now()).revisions(id);
    const known = proven === undefined ? [] : records.filter((r) => r.id === id && sameHex(r.sha256, proven));
    return [...new Set([...shown, ...known].map((r) => r.revision))].sort((a, b) => a - b);
  }

  /**
   * `?sha256=<hex>`: the SHA-256 of a revision's signed document. Whoever holds the document knows
   * it (its publishers, the recipients it reached) and nobody else can guess it, so it lets the
   * publisher's `tocsin publish --wait` follow the deliveries of a revision under embargo or above
   * TLP:CLEAR without the admin token, and tells nobody else that the revision exists.
   */
  function documentProof(req: Request): string | undefined {
    if (req.query.sha256 === undefined) return undefined;
    const parsed = sha256Query.safeParse(req.query.sha256);
    if (!parsed.success) throw new HttpError(400, 'invalid_query', 'invalid sha256', fieldProblems(parsed.error, 'sha256'));
    return parsed.data;
  }

  /** `?revision=N`, if given; 400 naming `revision` when it is not plain decimal digits. */
  function revisionOf(req: Request, code = 'invalid_query'): number | undefined {
    if (req.query.revision === undefined) return undefined;
    const parsed = revisionQuery.safeParse(req.query.revision);
    if (!parsed.success) throw new HttpError(400, code, 'invalid revision', fieldProblems(parsed.error, 'revision'));
    return parsed.data;
  }

  /**
   * The revision asked for (`?revision=N`), or the latest accepted; 404 when there is none.
   * `orHeld` also finds revisions that are held, waiting for signatures; `proven` as in readable.
   */
  async function resolveRef(req: Request, orHeld = false, proven?: string): Promise<AdvisoryRef> {
    const id = advisoryIdSchema.safeParse(req.params.id);
    if (!id.success) throw new HttpError(404, 'not_found', 'no such advisory');
    const revisions = await readable(req, id.data, proven);
    const held = orHeld ? await deps.holds.revisions(id.data) : [];
    const n = revisionOf(req);
    if (n !== undefined) {
      if (!(revisions.includes(n) || held.includes(n))) throw new HttpError(404, 'not_found', `${id.data} has no revision ${n}`);
      return { id: id.data, revision: n };
    }
    const latest = revisions.at(-1) ?? held.at(-1);
    if (latest === undefined) throw new HttpError(404, 'not_found', `no advisory ${id.data}`);
    return { id: id.data, revision: latest };
  }

  router.post(
    '/',
    ...jsonBody(),
    handle(async (req) => {
      const parsed = submissionSchema.safeParse(req.body);
      if (!parsed.success) {
        throw new HttpError(
          400,
          'invalid_submission',
          'the submission must be {"document": "<signed text>", "signatures": ["<armored signature>", ...]}',
          fieldProblems(parsed.error),
        );
      }
      return intakeReply(await deps.intake.submit(parsed.data));
    }),
  );

  router.post(
    '/:id/signatures',
    ...jsonBody(),
    handle(async (req) => {
      const id = advisoryIdSchema.safeParse(req.params.id);
      if (!id.success) throw new HttpError(404, 'not_found', 'no such advisory');
      const revision = revisionOf(req, 'invalid_submission');
      const parsed = signaturesSchema.safeParse(req.body);
      if (!parsed.success) {
        throw new HttpError(400, 'invalid_submission', 'the body must be {"signatures": ["<armored signature>", ...]}', fieldProblems(parsed.error));
      }
      return intakeReply(await deps.intake.addSignatures(id.data, revision, parsed.data.signatures));
    }),
  );

  router.get(
    '/',
    optionalAdminAuth(deps.adminToken),
    handle(async (req) => {
      const latest = new Map<string, Awaited<ReturnType<AdvisoryArchive['records']>>[number]>();
      const records = await deps.archive.records();
      const view = publicView(records, now());
      for (const r of isAdminRequest(req) ? records : records.filter((x) => view.isPublic(x))) {
        const seen = latest.get(r.id);
        if (!seen || seen.revision < r.revision) latest.set(r.id, r);
      }
      const advisories = [...latest.values()].sort((a, b) => b.accepted_at.localeCompare(a.accepted_at));
      return { status: 200, body: { advisories } };
    }),
  );

  router.get(
    '/:id',
    optionalAdminAuth(deps.adminToken),
    handle(async (req) => {
      // To the public a held revision does not exist: who signed it, and that it waits, is the
      // publishers' business until it is accepted.
      const admin = isAdminRequest(req);
      const ref = await resolveRef(req, admin);
      const archived = await deps.archive.get(ref);
      if (!archived) {
        // Held, for an admin: its state only. Its text is signed by too few publishers to be shown as tocsin's.
        const hold = await deps.intake.holdStatus(ref);
        if (hold) return { status: 200, body: hold };
        throw new HttpError(404, 'not_found', `no advisory ${ref.id}`);
      }
      return {
        status: 200,
        body: {
          ...archived.record,
          revisions: await readable(req, ref.id),
          document: archived.document,
          publisher_signatures: archived.publisherSignatures,
          broadcaster_signature: archived.broadcasterSignature,
        },
      };
    }),
  );

  router.get(
    '/:id/deliveries',
    optionalAdminAuth(deps.adminToken),
    handle(async (req) => {
      const admin = isAdminRequest(req);
      // A revision the public may not read has no public deliveries either: 404, as for no
      // revision, unless the request shows it holds the signed document.
      const proof = documentProof(req);
      const ref = await resolveRef(req, false, proof);
      // The list holds a state per recipient while it is made and written: room for them first (see view-budget.ts).
      const audience = await deps.archive.audience(ref);
      const budget = admin ? deps.viewBudgets.admin : deps.viewBudgets.public;
      let release: () => void;
      try {
        release = await budget.reserve(Object.values(audience).reduce((n, ids) => n + ids.length, 0));
      } catch (err) {
        if (!(err instanceof ViewBudgetBusyError)) throw err;
        return { status: 503, headers: { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) }, body: { error: { code: 'busy', message: err.message } } };
      }
      try {
        return { ...(await deliveriesAnswer(ref, audience, admin, proof)), release };
      } catch (err) {
        release();
        throw err;
      }
    }),
  );

  /** A revision's delivery list, its audience read already (and room made for it). */
  async function deliveriesAnswer(ref: AdvisoryRef, audience: Audience, admin: boolean, proof: string | undefined): Promise<Reply> {
    // Redis where it still has a state, else the receipts' or the settled mark's: Redis may have lost its copy.
    const view = await loadRevisionView({ archive: deps.archive, states: deps.deliveries, receipts: deps.receipts }, ref, undefined, audience);
    const summary = { pending: 0, delivered: 0, retrying: 0, failed: 0 };
    // The same counts per channel with an audience: what `tocsin publish --wait` draws.
    const summaryByChannel: Partial<Record<ChannelName, typeof summary>> = {};
    for (const channel of channelNames) {
      const states = view.states.get(channel);
      const ids = view.audience[channel] ?? [];
      if (ids.length === 0) continue;
      const counts = { pending: 0, delivered: 0, retrying: 0, failed: 0 };
      summaryByChannel[channel] = counts;
      for (const recipient of ids) {
        const state = states?.get(recipient)?.state ?? 'pending';
        summary[state] += 1;
        counts[state] += 1;
      }
    }
    // Made as they are written, never as one list: an audience of 100,000 is 100,000 of them.
    function* deliveries() {
      for (const channel of channelNames) {
        const states = view.states.get(channel);
        for (const recipient of view.audience[channel] ?? []) {
          const s = states?.get(recipient);
          // Partners' URLs, relays and addresses live in the free text: the public sees only the summary.
          yield s ? { recipient, channel, ...(admin ? s : publicDeliveryView(s)) } : { recipient, channel, state: 'pending' as const, attempts: 0 };
        }
      }
    }
    // Before its release a revision is readable only by an admin or by whoever proved holding it.
    const scheduled = admin || proof !== undefined ? await deps.scheduledRelease?.(ref) : null;
    return {
      status: 200,
      stream: {
        before: { id: ref.id, revision: ref.revision, view: admin ? 'admin' : 'public', summary, summary_by_channel: summaryByChannel },
        key: 'deliveries',
        items: deliveries(),
        after: scheduled ? { scheduled: scheduledView(scheduled, admin) } : {},
      },
    };
  }

  return router;
}

/** What a request turned away for want of room is told to wait. */
const BUSY_RETRY_AFTER_SECONDS = 5;
