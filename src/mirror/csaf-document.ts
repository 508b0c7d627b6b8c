import { tlpOf } from '../advisory/tlp';
import type { MirrorConfig } from '../config';
import { csafDistribution } from './csaf-tlp';
import { scoreCvss3 } from './cvss3';
import { firstOf, latestOf, type MirrorEntry } from './mirror-entry';
import { isConformantPurl } from './purl';
import { absolute, csafPath, sitePaths } from './site-paths';
import { asUri } from './uri';

type Note = { category: 'description' | 'details' | 'general' | 'summary'; title: string; text: string };

/**
 * Renders an advisory as a CSAF 2.0 document (profile csaf_security_advisory), from the signed
 * documents of every archived revision. Choices where tocsin's format says less than CSAF wants:
 *
 * - tracking: `id` is the advisory id, `status` final; each archived revision is one
 *   revision_history entry dated when tocsin accepted it, numbered 1, 2, 3... in order, and
 *   `version` is the last number. CSAF forbids gaps (test 6.1.21), and the archive may have
 *   them (a publisher may skip a revision number), so the advisory's own revision number is in
 *   each entry's summary instead; without gaps the two agree. The initial and current release
 *   dates are the first and latest acceptance.
 * - keys are sorted, as CSAF recommends (test 6.2.13).
 * - one vulnerability per CVE (an advisory without CVEs gives one without `cve`), each affecting
 *   every listed product: the format does not say which product each CVE concerns.
 * - products: one per `affected` entry, named "<product> <versions>", and one per `fixed`
 *   version; a valid purl becomes the product identification helper.
 * - severity: `aggregate_severity` and an `impact` threat carry the publisher's word
 *   (critical ... none); a CVSS 3.x base vector becomes a score, computed here. Other vectors
 *   (CVSS 4.0, which CSAF 2.0 cannot hold, or vectors with temporal metrics) become a note.
 * - mitigations become remediations of category `mitigation`; `fixed` becomes `vendor_fix`.
 * - TLP: the advisory's label in `distribution` (see csaf-tlp.ts); the mirror renders CLEAR
 *   advisories only, so WHITE there. `lang` is left out: the advisory does not say which
 *   language it is written in.
 * - withdrawn (a signed retraction): CSAF 2.0 has no withdrawn status (CSAF 2.1 adds the
 *   csaf_withdrawn profile), so the document stays a final security advisory and gains a last
 *   revision_history entry dated the retraction's acceptance, a title starting "WITHDRAWN: ",
 *   and the retraction's reason as a description note titled "Reasoning for Withdrawal" (the
 *   title CSAF 2.1 asks of a withdrawn document), with a reference to the signed retraction.
 */
export function renderCsaf(entry: MirrorEntry, config: MirrorConfig): Record<string, unknown> {
  const { archived, doc } = latestOf(entry);
  const { record } = archived;
  const documentUrl = absolute(config.baseUrl, sitePaths.document(record.id, record.revision));

  const products: { name: string; product_id: string; product_identification_helper?: { purl: string } }[] = [];
  const affectedIds: string[] = [];
  const fixedIds: string[] = [];
  const remediations: Record<string, unknown>[] = [];
  for (const [i, a] of doc.affected.entries()) {
    const helper = a.purl && isConformantPurl(a.purl) ? { product_identification_helper: { purl: a.purl } } : {};
    const affectedId = `CSAFPID-${i + 1}`;
    products.push({ name: `${a.product} ${a.versions}`, product_id: affectedId, ...helper });
    affectedIds.push(affectedId);
    if (a.fixed) {
      const fixedId = `CSAFPID-${i + 1}-FIXED`;
      products.push({ name: `${a.product} ${a.fixed}`, product_id: fixedId, ...helper });
      fixedIds.push(fixedId);
      remediations.push({ category: 'vendor_fix', details: `Update ${a.product} to ${a.fixed} or later.`, product_ids: [affectedId] });
    }
  }
  for (const m of doc.mitigations) remediations.push({ category: 'mitigation', details: m.text, product_ids: affectedIds });

  const notes: Note[] = [
    { category: 'summary', title: 'Summary', text: doc.summary },
    {
      category: 'general',
      title: 'Source',
      text:
        `Rendered by tocsin from ${record.id} revision ${record.revision} as signed by its publishers ` +
        `(SHA-256 of the signed document: ${record.sha256}). The signed document, tocsin's signature over it and ` +
        `the publishers' signatures are at ${documentUrl} and beside it. Where this rendering and the signed document differ, the signed document is authoritative.`,
    },
    {
      category: 'details',
      title: 'Affected versions as stated by the publisher',
      text: doc.affected.map((a) => `${a.product} ${a.versions}${a.fixed ? ` (fixed in ${a.fixed})` : ''}`).join('\n'),
    },
    { category: 'details', title: 'Published', text: `The publishers dated this revision ${doc.published}.` },
  ];
  if (doc.kind === 'mitigation') {
    notes.push({ category: 'general', title: 'Mitigation note', text: `This document is a mitigation note for ${doc.mitigates}.` });
  }
  const withdrawn = entry.withdrawn;
  if (withdrawn) {
    const r = withdrawn.archived.record;
    notes.unshift({ category: 'description', title: 'Reasoning for Withdrawal', text: withdrawn.doc.summary });
    notes.push({
      category: 'general',
      title: 'Withdrawn',
      text:
        `The publishers withdrew ${record.id} with the signed retraction ${r.id} revision ${r.revision} ("${withdrawn.doc.title}"), ` +
        `accepted by tocsin ${r.accepted_at} (SHA-256 of the signed retraction: ${r.sha256}). Do not act on this advisory.`,
    });
  }
  const cvss = doc.cvss ? scoreCvss3(doc.cvss) : null;
  if (doc.cvss && !cvss) notes.push({ category: 'details', title: 'CVSS vector', text: `The publishers gave the CVSS vector ${doc.cvss}.` });

  const references: Record<string, string>[] = [
    { category: 'self', summary: 'This CSAF document', url: absolute(config.baseUrl, csafPath(entry)) },
    { category: 'external', summary: `The signed advisory ${record.id} revision ${record.revision}`, url: documentUrl },
    ...doc.references.map((url) => ({ category: 'external', summary: 'Reference given by the publishers', url: asUri(url) })),
  ];
  if (withdrawn) {
    const r = withdrawn.archived.record;
    references.push({ category: 'external', summary: `The signed retraction ${r.id} revision ${r.revision}`, url: absolute(config.baseUrl, sitePaths.document(r.id, r.revision)) });
  }
  if (doc.kind === 'mitigation') {
    references.push({ category: 'external', summary: `The advisory this note mitigates, ${doc.mitigates}`, url: `${absolute(config.baseUrl, sitePaths.index)}#${doc.mitigates}` });
  }

  const vulnerability = {
    title: doc.title,
    notes: [{ category: 'description', title: 'Description', text: doc.summary }],
    product_status: { known_affected: affectedIds, ...(fixedIds.length > 0 ? { fixed: fixedIds } : {}) },
    ...(remediations.length > 0 ? { remediations } : {}),
    ...(cvss ? { scores: [{ cvss_v3: cvss, products: affectedIds }] } : {}),
    threats: [{ category: 'impact', details: `Severity as rated by the publishers: ${doc.severity}.`, product_ids: affectedIds }],
  };
  // CSAF allows one vulnerability per CVE (test 6.1.23); the advisory may list a CVE twice.
  const cves = [...new Set(doc.cves)];
  const vulnerabilities = cves.length > 0 ? cves.map((cve) => ({ cve, ...vulnerability })) : [vulnerability];

  const first = firstOf(entry).archived.record;
  const history = entry.revisions.map(({ archived: r }, i) => ({
    date: r.record.accepted_at,
    number: String(i + 1),
    summary: `${r.record.id} revision ${r.record.revision}, accepted by tocsin (signed document SHA-256 ${r.record.sha256}).`,
  }));
  if (withdrawn) {
    const r = withdrawn.archived.record;
    history.push({ date: r.accepted_at, number: String(history.length + 1), summary: `Withdrawn by the signed retraction ${r.id} revision ${r.revision}; why is in the note "Reasoning for Withdrawal".` });
  }
  const current = withdrawn?.archived.record.accepted_at ?? record.accepted_at;
  return sortKeys({
    document: {
      category: 'csaf_security_advisory',
      csaf_version: '2.0',
      publisher: { ...config.publisher },
      title: withdrawn ? `WITHDRAWN: ${doc.title}` : doc.title,
      aggregate_severity: { text: doc.severity },
      distribution: csafDistribution(tlpOf(doc)),
      notes,
      references,
      tracking: {
        id: record.id,
        status: 'final',
        version: String(history.length),
        initial_release_date: first.accepted_at,
        current_release_date: current,
        revision_history: history,
        generator: { engine: { name: 'tocsin' }, date: current },
      },
    },
    product_tree: { full_product_names: products },
    vulnerabilities,
  }) as Record<string, unknown>;
}

/** A copy with every object's keys in code point order; arrays keep their order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
