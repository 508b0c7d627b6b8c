import type { ArchivedAdvisory } from '../advisory/record';
import type { MirrorConfig } from '../config';
import type { KeyHistory } from '../pgp/key-history';
import { spacedFingerprint } from '../notices/notice-view';
import { esc } from './html-escape';
import { isoSeconds } from './iso-seconds';
import { latestOf, newestFirst, type MirrorEntry, type MirrorRetraction, type RetractionEntry } from './mirror-entry';
import { csafPath, sitePaths } from './site-paths';

/** No script at all, and nothing loaded from anywhere: the page is plain, readable HTML. */
export const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/** The start of a mirror page up to `<body>`: no script, nothing loaded from anywhere, its feed linked. */
export function pageHead(title: string, feed: string, style: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${esc(title)}</title>
<link rel="alternate" type="application/atom+xml" href="${feed}">
<style>${style}</style>
</head>
<body>`;
}

export const PAGE_STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #111; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-bottom: .2rem; }
code, pre, .fpr { font-family: ui-monospace, monospace; }
pre { background: #f4f4f4; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.fpr { font-size: 1.1rem; font-weight: bold; }
.sev { display: inline-block; padding: 0 .4rem; border-radius: .2rem; color: #fff; background: #555; font-weight: bold; }
.sev-critical { background: #8b0000; } .sev-high { background: #c43c00; } .sev-medium { background: #8a6d00; } .sev-low { background: #2b6a2b; }
article { border-top: 2px solid #ddd; padding-top: .5rem; margin-top: 1.5rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; }
.summary { white-space: pre-wrap; }
.withdrawn-note { border-left: 4px solid #8b0000; padding-left: .6rem; }
.banner { border: 3px solid #8b0000; background: #fff4f0; padding: .5rem 1rem; margin-bottom: 1rem; }
.state { display: inline-block; padding: 0 .4rem; border-radius: .2rem; color: #fff; background: #555; font-weight: bold; }
.state-investigating { background: #8b0000; } .state-identified { background: #c43c00; } .state-monitoring { background: #8a6d00; } .state-resolved { background: #2b6a2b; }
.overdue { color: #8b0000; font-weight: bold; }
`;

export function link(href: string, text: string): string {
  return `<a href="${esc(href)}">${esc(text)}</a>`;
}

/** The links to one signed revision: the document, tocsin's signature, its hashes, the publishers' signatures. */
export function signedFiles(archived: ArchivedAdvisory): string[] {
  const { record } = archived;
  const documentPath = sitePaths.document(record.id, record.revision);
  const name = documentPath.split('/').pop()!;
  return [
    `${link(documentPath, name)}: the exact document the publishers signed (SHA-256 <code>${esc(record.sha256)}</code>)`,
    `${link(`${documentPath}.asc`, `${name}.asc`)}: tocsin's signature &middot; ${link(`${documentPath}.sha256`, 'sha256')} &middot; ${link(`${documentPath}.sha512`, 'sha512')}`,
    `publishers' signatures: ${archived.publisherSignatures.map((_, i) => link(sitePaths.publisherSignature(record.id, record.revision, i + 1), `${i + 1}`)).join(', ')} (by ${record.publishers.map((f) => `<code>${esc(f)}</code>`).join(', ')})`,
  ];
}

/** A withdrawn advisory keeps its article, struck through under the publishers' reason and the signed retraction. */
function withdrawnNote(withdrawn: MirrorRetraction): string {
  const { record } = withdrawn.archived;
  return `<div class="withdrawn-note">
  <p><b>WITHDRAWN</b> by its publishers with ${link(`#${record.id}`, `${record.id}`)}, accepted by tocsin ${esc(record.accepted_at)}. Do not act on this advisory. Their reason:</p>
  <p class="summary">${esc(withdrawn.doc.summary)}</p>
  <ul>${signedFiles(withdrawn.archived).map((i) => `<li>${i}</li>`).join('')}</ul>
  </div>`;
}

function renderEntry(entry: MirrorEntry): string {
  const { archived, doc } = latestOf(entry);
  const { record } = archived;
  const list = (items: string[]) => (items.length > 0 ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '<p>None stated.</p>');
  const older = entry.revisions.slice(0, -1).reverse();
  const struck = (html: string) => (entry.withdrawn ? `<del>${html}</del>` : html);
  return `
<article id="${esc(entry.id)}"${entry.withdrawn ? ' class="withdrawn"' : ''}>
  <h2><span class="sev sev-${esc(doc.severity)}">${esc(doc.severity.toUpperCase())}</span> ${entry.withdrawn ? '<b>WITHDRAWN</b> ' : ''}${struck(esc(doc.title))}</h2>
  ${entry.withdrawn ? withdrawnNote(entry.withdrawn) : ''}
  <p><b>${esc(record.id)}</b> revision ${record.revision} &middot; ${doc.kind === 'advisory' ? 'security advisory' : `mitigation note for ${link(`#${doc.mitigates}`, doc.mitigates)}`}
  &middot; published ${esc(doc.published)} &middot; accepted by tocsin ${esc(record.accepted_at)}${doc.cvss ? ` &middot; CVSS <code>${esc(doc.cvss)}</code>` : ''}</p>
  <p class="summary">${struck(esc(doc.summary))}</p>
  <h3>Affected</h3>
  <table><tr><th>product</th><th>versions</th><th>fixed in</th></tr>
  ${doc.affected.map((a) => `<tr><td>${esc(a.product)}</td><td>${esc(a.versions)}</td><td>${esc(a.fixed ?? '')}</td></tr>`).join('\n  ')}
  </table>
  <h3>Mitigations</h3>
  ${list(doc.mitigations.map((m) => `<span class="summary">${esc(m.text)}</span>`))}
  <p>CVEs: ${doc.cves.length > 0 ? doc.cves.map(esc).join(', ') : 'none'}</p>
  ${doc.references.length > 0 ? `<h3>References</h3>${list(doc.references.map((r) => `<a href="${esc(r)}" rel="nofollow noopener noreferrer">${esc(r)}</a>`))}` : ''}
  <h3>Signed files</h3>
  <ul>
    ${signedFiles(archived)
      .map((i) => `<li>${i}</li>`)
      .join('\n    ')}
    <li>${link(csafPath(entry), 'CSAF 2.0')} (${link(`${csafPath(entry)}.asc`, 'signature')}) &middot; ${link(sitePaths.osv(entry.id), 'OSV')} (${link(`${sitePaths.osv(entry.id)}.asc`, 'signature')})</li>
  </ul>
  ${older.length > 0 ? `<p>Earlier revisions: ${older.map(({ archived: a }) => link(sitePaths.document(a.record.id, a.record.revision), `revision ${a.record.revision}`)).join(', ')}</p>` : ''}
</article>`;
}

/** A retraction's own article: what it withdraws, why, and its signed files. */
function renderRetraction(retraction: RetractionEntry): string {
  const { archived, doc } = retraction.revisions[retraction.revisions.length - 1]!;
  const older = retraction.revisions.slice(0, -1).reverse();
  return `
<article id="${esc(retraction.id)}" class="retraction">
  <h2>Retraction of ${link(`#${retraction.retracts}`, retraction.retracts)}: ${esc(doc.title)}</h2>
  <p><b>${esc(archived.record.id)}</b> revision ${archived.record.revision} &middot; retraction &middot; published ${esc(doc.published)} &middot; accepted by tocsin ${esc(archived.record.accepted_at)}</p>
  <p class="summary">${esc(doc.summary)}</p>
  <h3>Signed files</h3>
  <ul>${signedFiles(archived).map((i) => `<li>${i}</li>`).join('')}</ul>
  ${older.length > 0 ? `<p>Earlier revisions: ${older.map(({ archived: a }) => link(sitePaths.document(a.record.id, a.record.revision), `revision ${a.record.revision}`)).join(', ')}</p>` : ''}
</article>`;
}

/** The keys before the current one, each with what it is still good for. */
function renderEarlierKeys(history: KeyHistory): string {
  const items = [
    ...history.retired.map(
      (r) =>
        `<li>previous key <span class="fpr">${esc(spacedFingerprint(r.fingerprint))}</span> (${link(sitePaths.earlierKey(r.fingerprint), 'key')}), retired on ${esc(isoSeconds(r.retiredAt))}: ` +
        (r.leadsToCurrent
          ? r.chain.length === 1
            ? 'it certified the current key. '
            : `it certified <code>${esc(r.successor)}</code>, and each rotation since certified the next key, up to the current one. `
          : `it certified <code>${esc(r.successor)}</code>, but no unbroken line of rotations leads from it to the current key. `) +
        'Its signatures count for what it signed until then.</li>',
    ),
    ...history.revoked
      .filter((r) => r.fingerprint !== history.current.fingerprint)
      .map(
        (r) =>
          `<li><b>REVOKED</b> key <span class="fpr">${esc(spacedFingerprint(r.fingerprint))}</span> (${link(sitePaths.earlierKey(r.fingerprint), 'key')}), revoked on ${esc(isoSeconds(r.revokedAt))} (${esc(r.reason)}): ` +
          'do not trust anything signed by it alone.</li>',
      ),
  ];
  if (items.length === 0) return '';
  return `<p>Tocsin's key has changed. Advisories accepted before a change carry the signature of the key in use then:</p>
<ul>${items.join('\n')}</ul>`;
}

/**
 * index.html: readable with no JavaScript, latest advisories first, and how to check them.
 * `banner` (HTML, already escaped) goes first of all: the open incidents, see status-page.ts.
 */
export function renderIndexPage(entries: MirrorEntry[], retractions: RetractionEntry[], config: MirrorConfig, history: KeyHistory, banner = ''): string {
  const fingerprint = history.current.fingerprint;
  const earlier = [...history.retired.map((r) => r.fingerprint), ...history.revoked.map((r) => r.fingerprint)].filter((f) => f !== fingerprint);
  // gpg is given revoked keys too, so that it warns about their signatures; sq only the keys that count.
  const earlierFiles = earlier.map((f) => ` ${sitePaths.earlierKey(f)}`).join('');
  const sorted = [...entries].sort(newestFirst);
  const example = sorted[0] ? sitePaths.document(sorted[0].id, latestOf(sorted[0]).archived.record.revision) : sitePaths.document('ACME-2026-0001', 1);
  const exampleName = example.split('/').pop()!;
  return `${pageHead(`${config.publisher.name} security advisories`, sitePaths.atom, PAGE_STYLE)}
${banner}<h1>${esc(config.publisher.name)} security advisories</h1>
<p>Every advisory here was signed by its publishers and then by tocsin. Tocsin's current key fingerprint:</p>
<p class="fpr">${esc(spacedFingerprint(fingerprint))}</p>
${renderEarlierKeys(history)}
<p>Compare the fingerprint with the one you received through another channel before trusting anything on this page.
${link(sitePaths.broadcasterKey, 'Tocsin\'s public key')} &middot; ${link(sitePaths.verify, 'verify a notice in your browser')} &middot;
${link(sitePaths.atom, 'Atom feed')} &middot; ${link(sitePaths.providerMetadata, 'CSAF provider metadata')} &middot; ${link(sitePaths.status, 'incident status')}${config.subscribeUrl ? ` &middot; ${link(config.subscribeUrl, 'subscribe by email')}` : ''}</p>
<h2>How to verify</h2>
<pre>gpg --show-keys --fingerprint broadcaster.asc${esc(earlierFiles)}   # must show the fingerprint${earlier.length > 0 ? 's' : ''} above
gpg --import broadcaster.asc${esc(earlierFiles)}
gpg --verify ${esc(exampleName)}.asc ${esc(exampleName)}${earlier.length > 0 ? '   # then check which key made the "Good signature": see above' : ''}
sha256sum -c ${esc(exampleName)}.sha256
# or with Sequoia:
sq verify${['broadcaster.asc', ...history.retired.map((r) => sitePaths.earlierKey(r.fingerprint))].map((f) => ` --signer-cert ${esc(f)}`).join('')} --detached ${esc(exampleName)}.asc ${esc(exampleName)}</pre>
<p>Only the signed document is vouched for. This page, the CSAF and OSV renderings and the feeds repeat it for convenience;
CSAF and OSV files carry tocsin's own signature.</p>
<h2>Advisories (${sorted.length})</h2>
${sorted.length === 0 ? '<p>No advisory has been published.</p>' : sorted.map(renderEntry).join('\n')}
${retractions.length > 0 ? `<h2>Retractions (${retractions.length})</h2>\n${retractions.map(renderRetraction).join('\n')}` : ''}
</body>
</html>
`;
}
