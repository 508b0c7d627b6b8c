import type { ArchivedAdvisory } from '../advisory/record';
import type { BulletinDocument } from '../advisory/schema';
import type { TemplateView } from '../templates/render-template';
import type { RenderContext } from './render-context';

/**
 * The values every channel's template may use, taken from the signed document (never from
 * anything unsigned). Lists are arrays so templates can repeat over them:
 *
 * id, revision, kind, kind_label ("Security advisory" / "Mitigation note"), title, severity,
 * severity_upper, summary, published, mitigates, cvss, sha256, accepted_at, fingerprint
 * (tocsin's key, spaced in groups of four as gpg prints it), key_url, advisory_url,
 * affected[{product, versions, fixed}], cves[], mitigations[{text}], references[].
 *
 * After `tocsin keys rotate`: previous_fingerprint and overlap_until while the previous key still
 * signs too; transition_url, transition_from (the old key, spaced) and transition_date until the
 * next rotation.
 */
export function buildNoticeView(archived: ArchivedAdvisory, ctx: RenderContext): TemplateView {
  const doc = JSON.parse(archived.document) as BulletinDocument;
  const { record } = archived;
  return {
    id: doc.id,
    revision: doc.revision,
    kind: doc.kind,
    kind_label: doc.kind === 'advisory' ? 'Security advisory' : 'Mitigation note',
    title: doc.title,
    severity: doc.severity,
    severity_upper: doc.severity.toUpperCase(),
    summary: doc.summary,
    published: doc.published,
    mitigates: doc.kind === 'mitigation' ? doc.mitigates : undefined,
    cvss: doc.cvss,
    sha256: record.sha256,
    accepted_at: record.accepted_at,
    fingerprint: spacedFingerprint(ctx.broadcaster.fingerprint),
    key_url: `${ctx.publicUrl}/v1/keys/broadcaster.asc`,
    ...keyChangeView(ctx),
    advisory_url: `${ctx.publicUrl}/v1/advisories/${doc.id}?revision=${doc.revision}`,
    affected: doc.affected.map((a) => ({ product: a.product, versions: a.versions, fixed: a.fixed })),
    cves: doc.cves,
    mitigations: doc.mitigations.map((m) => ({ text: m.text })),
    references: doc.references,
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
