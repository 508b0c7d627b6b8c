import type { MirrorConfig } from '../config';
import { firstOf, latestOf, updatedAt, utc, type MirrorEntry } from './mirror-entry';
import { absolute, csafPath, sitePaths } from './site-paths';
import { asUri } from './uri';

/** purl types whose packages OSV names an ecosystem for (distributions need a release, so are left out). */
const ECOSYSTEMS: Record<string, string> = {
  npm: 'npm',
  pypi: 'PyPI',
  maven: 'Maven',
  golang: 'Go',
  cargo: 'crates.io',
  gem: 'RubyGems',
  nuget: 'NuGet',
  composer: 'Packagist',
  hex: 'Hex',
  pub: 'Pub',
  hackage: 'Hackage',
  cran: 'CRAN',
  conan: 'ConanCenter',
};

const OSV_CVSS_V3 = /^CVSS:3[.][01]\/((AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])\/)*(AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])$/;
const OSV_CVSS_V4 = /^CVSS:4[.]0\/AV:[NALP]\/AC:[LH]\/AT:[NP]\/PR:[NLH]\/UI:[NPA]\/VC:[HLN]\/VI:[HLN]\/VA:[HLN]\/SC:[HLN]\/SI:[HLN]\/SA:[HLN]/;

/** OSV ids need a registered database prefix; `x_` is the schema's prefix for everyone else. */
export function osvId(advisoryId: string): string {
  return `x_${advisoryId}`;
}

/** Package coordinates from a purl, when OSV has an ecosystem for its type. */
export function packageFromPurl(purl: string): { ecosystem: string; name: string; purl: string } | null {
  const m = /^pkg:([A-Za-z.\-+][A-Za-z0-9.\-+]*)\/([^@?#]+)/.exec(purl);
  if (!m) return null;
  const ecosystem = ECOSYSTEMS[m[1]!.toLowerCase()];
  if (!ecosystem) return null;
  let segments: string[];
  try {
    segments = m[2]!.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
  if (segments.length === 0) return null;
  const name = ecosystem === 'Maven' ? segments.join(':') : segments.join('/');
  return { ecosystem, name, purl: purl.replace(/@[^?#]*/, '') };
}

type Event = { introduced: string } | { fixed: string } | { last_affected: string };

/**
 * Reads the simple version notations ("<2.3.1", ">=1.0 <1.4.2", "<=3.0", "1.2.3") as an OSV
 * range or version list. Anything else ("2.x", "> 1.0", alternatives) gives null: the
 * publisher's words stay in database_specific rather than being guessed at.
 */
export function osvVersions(versions: string): { ranges?: { type: 'ECOSYSTEM'; events: Event[] }[]; versions?: string[] } | null {
  const tokens = versions.trim().replace(/(>=|<=|<|>|=)\s+/g, '$1').split(/[\s,]+/);
  const parts = tokens.map((t) => /^(>=|<=|<|>|=)?([0-9A-Za-z][0-9A-Za-z.+_~:-]*)$/.exec(t));
  if (parts.some((p) => p === null)) return null;
  const bounds = parts.map((p) => ({ op: p![1] ?? '=', version: p![2]! }));
  if (bounds.length === 1 && bounds[0]!.op === '=') return { versions: [bounds[0]!.version] };
  let introduced: string | undefined;
  let upper: Event | undefined;
  for (const b of bounds) {
    if (b.op === '>=' && introduced === undefined) introduced = b.version;
    else if (b.op === '<' && upper === undefined) upper = { fixed: b.version };
    else if (b.op === '<=' && upper === undefined) upper = { last_affected: b.version };
    else return null;
  }
  return { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: introduced ?? '0' }, ...(upper ? [upper] : [])] }] };
}

/**
 * Renders an advisory as an OSV entry. `id` is `x_<advisory id>`; CVEs become aliases; the
 * publishers' mitigations are appended to `details` (OSV has no field for them); `severity`
 * holds a CVSS vector when the advisory gives one OSV accepts, and tocsin's severity word goes in
 * `database_specific`. A product gets a `package` only when its purl names an OSV ecosystem.
 * A withdrawn advisory gets `withdrawn` (the retraction's acceptance), its reason first in
 * `details`, and a reference to the signed retraction.
 */
export function renderOsv(entry: MirrorEntry, config: MirrorConfig): Record<string, unknown> {
  const { archived, doc } = latestOf(entry);
  const { record } = archived;
  const documentUrl = absolute(config.baseUrl, sitePaths.document(record.id, record.revision));
  const details = [doc.summary, ...(doc.mitigations.length > 0 ? ['', 'Mitigations:', ...doc.mitigations.map((m) => `- ${m.text}`)] : [])].join('\n');
  const severity = doc.cvss && OSV_CVSS_V3.test(doc.cvss) ? 'CVSS_V3' : doc.cvss && OSV_CVSS_V4.test(doc.cvss) ? 'CVSS_V4' : null;

  const affected = doc.affected.map((a) => {
    const pkg = a.purl ? packageFromPurl(a.purl) : null;
    const parsed = pkg ? osvVersions(a.versions) : null;
    return {
      ...(pkg ? { package: pkg } : {}),
      ...(parsed ?? {}),
      database_specific: { product: a.product, versions: a.versions, ...(a.fixed ? { fixed: a.fixed } : {}) },
    };
  });

  const withdrawn = entry.withdrawn;
  return {
    schema_version: '1.7.0',
    id: osvId(record.id),
    modified: utc(updatedAt(entry)),
    published: utc(firstOf(entry).doc.published),
    ...(withdrawn ? { withdrawn: utc(withdrawn.archived.record.accepted_at) } : {}),
    aliases: doc.cves,
    ...(doc.kind === 'mitigation' ? { related: [osvId(doc.mitigates)] } : {}),
    summary: withdrawn ? `WITHDRAWN: ${doc.title}` : doc.title,
    details: withdrawn ? `Withdrawn by its publishers: ${withdrawn.doc.summary}\n\n${details}` : details,
    ...(severity ? { severity: [{ type: severity, score: doc.cvss }] } : {}),
    affected,
    references: [
      { type: 'ADVISORY', url: documentUrl },
      { type: 'ADVISORY', url: absolute(config.baseUrl, csafPath(entry)) },
      // The same RFC 3986 form as the CSAF rendering: OSV's schema also wants a URI, which a raw
      // WHATWG-accepted URL with a space or non-ASCII is not.
      ...doc.references.map((url) => ({ type: 'WEB', url: asUri(url) })),
      ...(withdrawn ? [{ type: 'ADVISORY', url: absolute(config.baseUrl, sitePaths.document(withdrawn.archived.record.id, withdrawn.archived.record.revision)) }] : []),
    ],
    database_specific: {
      source: 'tocsin',
      advisory_id: record.id,
      revision: record.revision,
      kind: doc.kind,
      severity: doc.severity,
      document_sha256: record.sha256,
      ...(withdrawn ? { withdrawn_by: { advisory_id: withdrawn.archived.record.id, revision: withdrawn.archived.record.revision, document_sha256: withdrawn.archived.record.sha256 } } : {}),
    },
  };
}
