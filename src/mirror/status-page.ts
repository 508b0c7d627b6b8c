import type { MirrorConfig } from '../config';
import { spacedFingerprint } from '../notices/notice-view';
import { esc } from './html-escape';
import { link, PAGE_STYLE, pageHead, signedFiles } from './index-page';
import { incidentOrder, isOpen, latestUpdate, overdueSince, type IncidentEntry, type IncidentUpdate } from './incident-entry';
import { sitePaths } from './site-paths';

const STATUS_STYLE = `
ol.timeline > li { margin-bottom: 1rem; }
`;

const stateBadge = (state: string) => `<span class="state state-${esc(state)}">${esc(state.toUpperCase())}</span>`;

/** What the latest update promised: when the next one comes, or that it is late. */
function promise(incident: IncidentEntry, now: Date): string {
  const overdue = overdueSince(incident, now);
  if (overdue !== undefined) return `<p class="overdue">Update overdue: the next update was promised by ${esc(overdue)} and none has come.</p>`;
  const next = latestUpdate(incident).doc.next_update_by;
  return next !== undefined && isOpen(incident) ? `<p>Next update promised by ${esc(next)}.</p>` : '';
}

function renderUpdate({ archived, doc }: IncidentUpdate): string {
  const { record } = archived;
  return `<li id="${esc(`${record.id}-${record.revision}`)}">
    <p>${stateBadge(doc.state)} <b>${esc(doc.title)}</b> &middot; update ${record.revision} &middot; published ${esc(doc.published)} &middot; accepted by tocsin ${esc(record.accepted_at)}</p>
    <p class="summary">${esc(doc.summary)}</p>
    ${doc.affected_services ? `<p>Affected services: ${doc.affected_services.map(esc).join(', ')}</p>` : ''}
    ${doc.next_update_by ? `<p>Next update promised then by ${esc(doc.next_update_by)}.</p>` : ''}
    <ul>${signedFiles(archived)
      .map((i) => `<li>${i}</li>`)
      .join('')}</ul>
  </li>`;
}

function renderIncident(incident: IncidentEntry, now: Date): string {
  const { doc } = latestUpdate(incident);
  const newestFirst = [...incident.updates].reverse();
  return `
<article id="${esc(incident.id)}" class="incident${isOpen(incident) ? ' open' : ' resolved'}">
  <h3>${stateBadge(doc.state)} ${esc(doc.title)}</h3>
  <p>Incident <b>${esc(incident.id)}</b> &middot; first reported ${esc(incident.updates[0]!.doc.published)} &middot; ${incident.updates.length} signed update${incident.updates.length === 1 ? '' : 's'}</p>
  ${promise(incident, now)}
  <ol class="timeline" reversed>
  ${newestFirst.map(renderUpdate).join('\n  ')}
  </ol>
</article>`;
}

/**
 * status.html: the open incidents first, each with its signed updates newest first and the next
 * update promised (or that it is overdue at `now`, the build's instant), then the resolved ones.
 * Like index.html, no script and nothing loaded from anywhere.
 */
export function renderStatusPage(incidents: readonly IncidentEntry[], config: MirrorConfig, fingerprint: string, now: Date): string {
  const sorted = [...incidents].sort(incidentOrder);
  const open = sorted.filter(isOpen);
  const resolved = sorted.filter((i) => !isOpen(i));
  return `${pageHead(`${config.publisher.name} incident status`, sitePaths.statusAtom, PAGE_STYLE + STATUS_STYLE)}
<h1>${esc(config.publisher.name)} incident status</h1>
<p>Every update here was signed by its publishers and then by tocsin, key <span class="fpr">${esc(spacedFingerprint(fingerprint))}</span>.
${link(sitePaths.index, 'Security advisories')} &middot; ${link(sitePaths.verify, 'how to verify')} &middot; ${link(sitePaths.statusJson, 'status.json')} &middot; ${link(sitePaths.statusAtom, 'Atom feed')}</p>
<h2>Open incidents (${open.length})</h2>
${open.length === 0 ? '<p>No open incident.</p>' : open.map((i) => renderIncident(i, now)).join('\n')}
<h2>Resolved incidents (${resolved.length})</h2>
${resolved.length === 0 ? '<p>None.</p>' : resolved.map((i) => renderIncident(i, now)).join('\n')}
</body>
</html>
`;
}

/** The banner at the top of index.html while an incident is open; empty when none is. */
export function renderStatusBanner(incidents: readonly IncidentEntry[], now: Date): string {
  const open = [...incidents].filter(isOpen).sort(incidentOrder);
  if (open.length === 0) return '';
  const items = open.map((i) => {
    const { doc } = latestUpdate(i);
    const late = overdueSince(i, now) !== undefined ? ' <span class="overdue">(update overdue)</span>' : '';
    return `<li>${stateBadge(doc.state)} ${link(`${sitePaths.status}#${i.id}`, doc.title)}${late}</li>`;
  });
  return `<div class="banner" role="status">
<p><b>Open incident${open.length === 1 ? '' : 's'}</b>: see ${link(sitePaths.status, 'the status page')}.</p>
<ul>${items.join('')}</ul>
</div>
`;
}
