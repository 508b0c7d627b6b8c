import type { ArchivedAdvisory } from '../advisory/record';
import type { AdvisoryDocument, BulletinDocument, DrillDocument, RetractionDocument, StatusDocument } from '../advisory/schema';
import type { TemplateView } from '../templates/render-template';
import { embargoMark, noticeMarks, tlpLabel, type NoticeMarks } from './notice-marks';
import type { RenderContext } from './render-context';

/**
 * What one notice shows: its marks (TLP label, embargo, update, withdrawal), and the values its
 * templates may use. A retraction has a form of its own, with its own templates
 * (`<name>-retraction.<ext>`): it has no severity, affected products or CVEs, and nothing may
 * read them from it. So has an incident's status update (`<name>-status.<ext>`), and a drill
 * (`<name>-drill.<ext>`), which says nothing about any vulnerability.
 */
export type NoticeContent =
  | { form: 'bulletin'; doc: BulletinDocument; marks: NoticeMarks; view: TemplateView }
  | { form: 'retraction'; doc: RetractionDocument; marks: NoticeMarks; view: TemplateView }
  | { form: 'status'; doc: StatusDocument; marks: NoticeMarks; view: TemplateView }
  | { form: 'drill'; doc: DrillDocument; marks: NoticeMarks; view: TemplateView };

export type NoticeForm = NoticeContent['form'];

/** `email.txt` for a bulletin, `email-retraction.txt` for a retraction, `email-status.txt` for a status update, `email-drill.txt` for a drill. */
export function templateFor(name: string, form: NoticeForm): string {
  if (form === 'bulletin') return name;
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}-${form}${name.slice(dot)}`;
}

export function buildNoticeContent(archived: ArchivedAdvisory, ctx: RenderContext): NoticeContent {
  const doc = JSON.parse(archived.document) as AdvisoryDocument;
  const marks = noticeMarks(archived, ctx.variant);
  if (doc.kind === 'retraction') return { form: 'retraction', doc, marks, view: retractionView(doc, archived, ctx, marks) };
  if (doc.kind === 'status') return { form: 'status', doc, marks, view: statusView(doc, archived, ctx, marks) };
  if (doc.kind === 'drill') return { form: 'drill', doc, marks, view: drillView(doc, archived, ctx, marks) };
  return { form: 'bulletin', doc, marks, view: bulletinView(doc, archived, ctx, marks) };
}

/**
 * The values every channel's template may use, taken from the signed document (never from
 * anything unsigned). Lists are arrays so templates can repeat over them:
 *
 * id, revision, kind, kind_label ("Security advisory" / "Mitigation note"), title, severity,
 * severity_upper, summary, published, mitigates, cvss, sha256, accepted_at, fingerprint
 * (tocsin's key, spaced in groups of four as gpg prints it), key_url, advisory_url (only for a
 * TLP:CLEAR notice not under embargo: public reads answer nothing else),
 * affected[{product, versions, fixed}], cves[], mitigations[{text}], references[].
 *
 * The marks, which every notice shows in front of its template anyway: tlp ("AMBER"), tlp_label
 * ("TLP:AMBER"); under embargo embargo_until (as signed) and embargo_mark ("EMBARGOED until
 * 2026-12-09 14:00 UTC"); on an update previous_revision and changes[].
 *
 * After `tocsin keys rotate`: previous_fingerprint and overlap_until while the previous key still
 * signs too; transition_url, transition_from (the old key, spaced) and transition_date until the
 * next rotation.
 */
function bulletinView(doc: BulletinDocument, archived: ArchivedAdvisory, ctx: RenderContext, marks: NoticeMarks): TemplateView {
  return {
    ...commonView(doc, archived, ctx, marks),
    kind_label: doc.kind === 'advisory' ? 'Security advisory' : 'Mitigation note',
    severity: doc.severity,
    severity_upper: doc.severity.toUpperCase(),
    mitigates: doc.kind === 'mitigation' ? doc.mitigates : undefined,
    cvss: doc.cvss,
    affected: doc.affected.map((a) => ({ product: a.product, versions: a.versions, fixed: a.fixed })),
    cves: doc.cves,
    mitigations: doc.mitigations.map((m) => ({ text: m.text })),
    references: doc.references,
  };
}

/**
 * A retraction's values: those of {@link bulletinView} that a retraction has (no severity,
 * affected, cves, mitigations, references, cvss, mitigates), with kind_label "Retraction" and
 * retracts, the withdrawn advisory's id. `summary` is the publisher's reason.
 */
function retractionView(doc: RetractionDocument, archived: ArchivedAdvisory, ctx: RenderContext, marks: NoticeMarks): TemplateView {
  return { ...commonView(doc, archived, ctx, marks), kind_label: 'Retraction', retracts: doc.retracts };
}

/**
 * A status update's values: those of {@link bulletinView} that it has, with kind_label
 * "Incident status", incident (the slug), state ("identified"), state_upper, affected_services[]
 * and next_update_by (as signed, RFC 3339) when given.
 */
function statusView(doc: StatusDocument, archived: ArchivedAdvisory, ctx: RenderContext, marks: NoticeMarks): TemplateView {
  return {
    ...commonView(doc, archived, ctx, marks),
    kind_label: 'Incident status',
    incident: doc.incident,
    state: doc.state,
    state_upper: doc.state.toUpperCase(),
    affected_services: doc.affected_services ?? [],
    next_update_by: doc.next_update_by,
  };
}

/**
 * A drill's values: those of {@link bulletinView} that a drill has, with kind_label "Drill" and
 * no advisory_url (public reads never show a drill). `summary` says what is rehearsed.
 */
function drillView(doc: DrillDocument, archived: ArchivedAdvisory, ctx: RenderContext, marks: NoticeMarks): TemplateView {
  return { ...commonView(doc, archived, ctx, marks), kind_label: 'Drill', advisory_url: undefined };
}

function commonView(doc: AdvisoryDocument, archived: ArchivedAdvisory, ctx: RenderContext, marks: NoticeMarks): TemplateView {
  const { record } = archived;
  return {
    id: doc.id,
    revision: doc.revision,
    kind: doc.kind,
    title: doc.title,
    summary: doc.summary,
    published: doc.published,
    sha256: record.sha256,
    accepted_at: record.accepted_at,
    fingerprint: spacedFingerprint(ctx.broadcaster.fingerprint),
    key_url: `${ctx.publicUrl}/v1/keys/broadcaster.asc`,
    ...keyChangeView(ctx),
    // Public reads answer 404 for anything not TLP:CLEAR, and for an embargoed revision until its
    // release: a notice links there only when the link answers.
    advisory_url: marks.tlp === 'CLEAR' && marks.embargoUntil === undefined ? `${ctx.publicUrl}/v1/advisories/${doc.id}?revision=${doc.revision}` : undefined,
    tlp: marks.tlp,
    tlp_label: tlpLabel(marks.tlp),
    embargo_until: marks.embargoUntil,
    embargo_mark: marks.embargoUntil === undefined ? undefined : embargoMark(marks.embargoUntil),
    previous_revision: marks.update?.previousRevision,
    changes: marks.update?.changes,
  };
}

/** What notices say about a key rotation: absent values keep the template's sections empty. */
function keyChangeView(ctx: RenderContext): TemplateView {
  const { signerFingerprints, overlapUntil, transition } = ctx.broadcaster;
  const previous = signerFingerprints[1];
  return {
    previous_fingerprint: previous && overlapUntil ? spacedFingerprint(previous) : undefined,
    overlap_until: previous && overlapUntil ? overlapUntil.toISOString() : undefined,
    transition_url: transition ? transitionUrl(ctx.publicUrl) : undefined,
    transition_from: transition ? spacedFingerprint(transition.statement.old_fingerprint) : undefined,
    transition_date: transition?.statement.created,
  };
}

export function transitionUrl(publicUrl: string): string {
  return `${publicUrl}/v1/keys/transition.json`;
}

/** "ABCD 1234 ..." as gpg --fingerprint prints it, easier to compare by eye. */
export function spacedFingerprint(fingerprint: string): string {
  return fingerprint.replace(/(.{4})(?!$)/g, '$1 ');
}
