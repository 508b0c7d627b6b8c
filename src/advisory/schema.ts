import { z } from 'zod';
import { purlProblem } from '../mirror/purl';
import { channelNames } from '../channels/channel-names';
import { httpUrl } from '../util/zod-fields';
import { safeText, type TextLines } from '../util/safe-text';
import { groupNameSchema, tlpLabels } from './tlp';

/**
 * Advisory ids end up in file names, URLs and queue job ids, so they are kept to a safe alphabet:
 * `ACME-2026-0001`, `GHSA-xxxx-xxxx-xxxx`, `CVE-2026-12345` all fit.
 */
export const advisoryIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** A `\ud800` escape parses to half a character, which no channel can send as UTF-8. */
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
const WELL_FORMED = 'must not contain an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape)';
/** Short values that are one line by nature: package coordinates, versions, a CVSS vector. */
const plain = (max: number) => z.string().check(safeText('single')).max(max).refine(wellFormed, WELL_FORMED);
/** Judged before trimming: what was signed is what is checked. */
const text = (max: number, lines: TextLines) =>
  z.string().check(safeText(lines)).trim().min(1, 'must not be empty').max(max).refine(wellFormed, WELL_FORMED);
const httpsOrHttpUrl = httpUrl().check(safeText('single')).refine(wellFormed, WELL_FORMED);

export const severities = ['critical', 'high', 'medium', 'low', 'none'] as const;
export type Severity = (typeof severities)[number];

const affectedSchema = z.strictObject({
  product: text(200, 'single'),
  /** A version range in the product's own notation, e.g. "<2.3.1" or ">=1.0 <1.4.2". */
  versions: text(200, 'single'),
  /** Optional package coordinates, e.g. "pkg:npm/acme-server". */
  purl: plain(512)
    .superRefine((purl, ctx) => {
      const problem = purlProblem(purl);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** First fixed version, when one exists. */
  fixed: plain(100).optional(),
});

const common = {
  id: advisoryIdSchema,
  /** Starts at 1; every correction is a new, higher revision. */
  revision: z.number().int().min(1).max(1_000_000),
  title: text(300, 'single'),
  severity: z.enum(severities),
  summary: text(20_000, 'multi'),
  /** RFC 3339 time with an offset, e.g. 2026-11-24T12:00:00Z. */
  published: z.string().datetime({ offset: true }),
  affected: z.array(affectedSchema).min(1).max(500),
  cves: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/, 'must look like CVE-2026-12345')).max(200),
  mitigations: z.array(z.strictObject({ text: text(10_000, 'multi') })).max(100),
  references: z.array(httpsOrHttpUrl).max(200),
  /** Optional CVSS vector, e.g. "CVSS:3.1/AV:N/AC:L/...". */
  cvss: plain(200).optional(),
};

/**
 * Disclosure fields (coordinated disclosure), signed like every other field. `tlp` is how far the
 * text may be shared (TLP 2.0; absent means CLEAR). `embargo_until` is when the public may learn
 * of it: until then only recipients in one of the `audience` groups receive it. The 90-day bound
 * needs the clock, so intake checks it (see publish/disclosure-rules.ts).
 */
const disclosure = {
  tlp: z
    .string()
    .refine((v) => v !== 'RED', 'TLP:RED is for named people, not for a broadcaster: send it to them directly, or use AMBER+STRICT')
    .pipe(z.enum(tlpLabels, { error: `must be one of ${tlpLabels.join(', ')}` }))
    .optional(),
  embargo_until: z.string().datetime({ offset: true, error: 'must be an RFC 3339 date-time with an offset, e.g. 2026-12-09T14:00:00Z' }).optional(),
  audience: z.array(groupNameSchema).min(1, 'must name at least one recipient group').max(50).optional(),
};

/** `audience` only means something during an embargo, and an embargo without one would tell nobody. */
function checkEmbargo(doc: { embargo_until?: string | undefined; audience?: string[] | undefined }, ctx: z.RefinementCtx) {
  if (doc.embargo_until !== undefined && doc.audience === undefined) {
    ctx.addIssue({ code: 'custom', path: ['audience'], message: 'is required with embargo_until: the recipient groups told during the embargo, e.g. ["distros"]' });
  }
  if (doc.audience !== undefined && doc.embargo_until === undefined) {
    ctx.addIssue({ code: 'custom', path: ['audience'], message: 'is only meaningful with embargo_until: without an embargo every matching recipient receives the advisory' });
  }
  if (doc.audience !== undefined && new Set(doc.audience).size !== doc.audience.length) {
    ctx.addIssue({ code: 'custom', path: ['audience'], message: 'names a group twice' });
  }
}

const advisorySchema = z.strictObject({ ...common, ...disclosure, kind: z.literal('advisory') }).superRefine(checkEmbargo);

const mitigationSchema = z
  .strictObject({
    ...common,
    ...disclosure,
    kind: z.literal('mitigation'),
    /** The advisory this note mitigates. */
    mitigates: advisoryIdSchema,
  })
  .superRefine(checkEmbargo);

/**
 * Withdraws an advisory: exactly these fields, nothing else. It reaches whoever received any
 * revision of the withdrawn advisory, so it carries no TLP or embargo of its own.
 */
const retractionSchema = z.strictObject({
  id: advisoryIdSchema,
  revision: common.revision,
  kind: z.literal('retraction'),
  /** The advisory id withdrawn. */
  retracts: advisoryIdSchema,
  title: common.title,
  /** Why it is withdrawn. */
  summary: common.summary,
  published: common.published,
});

export const incidentStates = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentState = (typeof incidentStates)[number];

/**
 * An update on an incident of the publishers' own service (kind `status`): always public
 * (TLP:CLEAR, no embargo), sent to every recipient whose filter's `kinds` keeps `status`. The id
 * IS the incident's slug (`id` must equal `incident`), so every update of one incident is a
 * revision of one id and its history reads in revision order.
 */
const statusSchema = z
  .strictObject({
    id: advisoryIdSchema,
    revision: common.revision,
    kind: z.literal('status'),
    /** The incident's slug, e.g. `mail-relay-outage`: the same as `id`. */
    incident: z.string().regex(/^[a-z0-9][a-z0-9-]{0,127}$/, 'must be a slug: 1-128 lower-case letters, digits or "-", starting with a letter or digit'),
    state: z.enum(incidentStates, { error: `must be one of ${incidentStates.join(', ')}` }),
    title: common.title,
    summary: common.summary,
    published: common.published,
    /** Which of the publishers' services are affected, e.g. ["api", "mail relay"]. */
    affected_services: z.array(text(200, 'single')).min(1).max(100).optional(),
    /** When the next update is promised, RFC 3339 with an offset. */
    next_update_by: z.string().datetime({ offset: true, error: 'must be an RFC 3339 date-time with an offset, e.g. 2026-12-09T14:00:00Z' }).optional(),
  })
  .superRefine((doc, ctx) => {
    if (doc.id !== doc.incident) ctx.addIssue({ code: 'custom', path: ['id'], message: `must equal incident ("${doc.incident}"): every update of an incident is a revision of the incident's id` });
    if (doc.state === 'resolved' && doc.next_update_by !== undefined) ctx.addIssue({ code: 'custom', path: ['next_update_by'], message: 'promises an update of a resolved incident: leave it out, or post another state' });
  });

/**
 * A rehearsal of the whole path, publishers' side included (gpg, the two-person rule): it says
 * nothing about any vulnerability, so it carries no severity, products or TLP. It tests reach,
 * so routing ignores recipients' filters; `channels` and `group`, signed like the rest, narrow
 * who is drilled. Never public (release/public-view.ts hides it).
 */
const drillSchema = z.strictObject({
  id: advisoryIdSchema,
  revision: common.revision,
  kind: z.literal('drill'),
  title: common.title,
  /** What is rehearsed, for the people who receive it. */
  summary: common.summary,
  published: common.published,
  /** Only these channels (default: every channel). */
  channels: z.array(z.enum(channelNames)).min(1, 'must name at least one channel').max(4).optional(),
  /** Only recipients in this group (default: every recipient). */
  group: groupNameSchema.optional(),
});

/**
 * The document a publisher signs. Unknown fields are rejected, not ignored: a signed field that
 * tocsin silently dropped would be a field recipients believe was checked.
 */
export const advisoryDocumentSchema = z.discriminatedUnion('kind', [advisorySchema, mitigationSchema, retractionSchema, statusSchema, drillSchema]);
/** The kinds that describe a vulnerability (not a retraction), as the mirror's renderings read them. */
export const bulletinDocumentSchema = z.discriminatedUnion('kind', [advisorySchema, mitigationSchema]);

export type AdvisoryDocument = z.infer<typeof advisoryDocumentSchema>;
/** An advisory or a mitigation note: the kinds that carry affected products, severity and disclosure fields. */
export type BulletinDocument = Extract<AdvisoryDocument, { kind: 'advisory' | 'mitigation' }>;
export type RetractionDocument = Extract<AdvisoryDocument, { kind: 'retraction' }>;
/** An update on an incident (kind `status`): no severity, products, TLP or embargo. */
export type StatusDocument = Extract<AdvisoryDocument, { kind: 'status' }>;
export type DrillDocument = Extract<AdvisoryDocument, { kind: 'drill' }>;
export type DocumentKind = AdvisoryDocument['kind'];
export const documentKinds = ['advisory', 'mitigation', 'retraction', 'status', 'drill'] as const satisfies readonly DocumentKind[];
