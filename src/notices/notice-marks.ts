import type { ArchivedAdvisory } from '../advisory/record';
import type { AdvisoryDocument, IncidentState } from '../advisory/schema';
import type { Tlp } from '../advisory/tlp';
import { changedFields } from './document-changes';
import type { NoticeVariant } from './notice-variant';

/**
 * What a notice must say before anything else, on every channel: how far it may be shared (its
 * TLP 2.0 label), that it is under embargo, that it updates an earlier revision, that it withdraws
 * an advisory. Every renderer puts these in front of its template's text itself, inside the
 * signature, so that no template (a team's own, or one older than these marks) can leave them out.
 */
export interface NoticeMarks {
  tlp: Tlp;
  /** Set when this notice goes out under its embargo: the document's `embargo_until` (RFC 3339). */
  embargoUntil?: string;
  /** Set for a revision after the first. */
  update?: { previousRevision: number; changes: string[] };
  /** Set on a retraction: the id of the advisory it withdraws. */
  retracts?: string;
  /** Set on an incident's status update: the state it reports. */
  state?: IncidentState;
  /** Set on a drill, which nobody may mistake for an advisory: {@link DRILL_MARK} comes first of all. */
  drill?: true;
}

/** The first words of every drill notice, on every channel: subject, first line, header. */
export const DRILL_MARK = '[DRILL] No action needed';

/**
 * The label comes from the signed document. A retraction carries none of its own: it takes the
 * record's, which is the withdrawn advisory's when the release step sets it, and CLEAR otherwise.
 */
export function noticeMarks(archived: ArchivedAdvisory, variant: NoticeVariant = {}): NoticeMarks {
  const doc = JSON.parse(archived.document) as AdvisoryDocument;
  // `?? 'CLEAR'` rather than tlpOf: advisory/tlp.ts loads zod, and a fresh render thread must
  // start within its render deadline (render-in-thread.ts) without loading a validator it never uses.
  if (doc.kind === 'drill') return { tlp: 'CLEAR', drill: true };
  const marks: NoticeMarks = { tlp: (doc.kind === 'retraction' ? archived.record.tlp : doc.kind === 'status' ? undefined : doc.tlp) ?? 'CLEAR' };
  if (variant.embargoedUntil !== undefined) {
    // The signed value wins over the release step's copy of it: it is what partners can check.
    marks.embargoUntil = (doc.kind === 'advisory' || doc.kind === 'mitigation' ? doc.embargo_until : undefined) ?? variant.embargoedUntil;
  }
  if (variant.previous) {
    marks.update = { previousRevision: variant.previous.revision, changes: changedFields(variant.previous.document, archived.document) };
  }
  if (doc.kind === 'retraction') marks.retracts = doc.retracts;
  if (doc.kind === 'status') marks.state = doc.state;
  return marks;
}

/**
 * `TLP:AMBER`, as TLP 2.0 writes a label: capitals, no space after the colon. CLEAR is shown too,
 * on every notice: TLP 2.0 labels CLEAR information like any other, and a notice without a label
 * could be read as one whose label went missing, beside the AMBER notices of the same broadcaster.
 */
export function tlpLabel(tlp: Tlp): string {
  return `TLP:${tlp}`;
}

/**
 * `2026-12-09 14:00 UTC` for `2026-12-09T15:00:00+01:00`: tocsin's clock is UTC and so are the
 * times it tells partners. Seconds are shown when there are any, and a fraction rounds up: a
 * time shown earlier than the real end would invite publishing before it.
 */
export function utcTime(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  if (!Number.isFinite(ms)) throw new Error(`not an RFC 3339 time: ${rfc3339}`);
  const iso = new Date(Math.ceil(ms / 1000) * 1000).toISOString();
  const seconds = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds === '00' ? '' : `:${seconds}`} UTC`;
}

export function embargoMark(embargoUntil: string): string {
  return `EMBARGOED until ${utcTime(embargoUntil)}`;
}

/**
 * The marks on one line, for an email subject, a Slack header or a Mastodon status's first line:
 * `TLP:AMBER [EMBARGOED until 2026-12-09 14:00 UTC] [UPDATED]`, `TLP:CLEAR [WITHDRAWN]`, or
 * `TLP:CLEAR [UPDATED] [STATUS: identified]` for an incident's status update.
 * The label comes first, as TLP 2.0 asks; the others are bracketed so that none reads as part of it.
 */
export function inlineMarks(m: NoticeMarks): string {
  const parts = [...(m.drill ? [DRILL_MARK] : []), tlpLabel(m.tlp)];
  if (m.embargoUntil !== undefined) parts.push(`[${embargoMark(m.embargoUntil)}]`);
  if (m.update) parts.push('[UPDATED]');
  if (m.retracts !== undefined) parts.push('[WITHDRAWN]');
  if (m.state !== undefined) parts.push(`[STATUS: ${m.state}]`);
  return parts.join(' ');
}

/** What changed, for a body: `changed since revision 1: affected, severity`. */
export function changesLine(update: NonNullable<NoticeMarks['update']>): string {
  const changed = update.changes.length > 0 ? update.changes.join(', ') : 'no field but the revision';
  return `changed since revision ${update.previousRevision}: ${changed}`;
}

/** The marks as the first lines of a text body, the label first (TLP 2.0: before the information). */
export function markLines(m: NoticeMarks): string[] {
  const lines = [...(m.drill ? [DRILL_MARK] : []), tlpLabel(m.tlp)];
  if (m.embargoUntil !== undefined) lines.push(`${embargoMark(m.embargoUntil)}: for the embargo's audience only, not to be made public before then`);
  if (m.update) lines.push(`UPDATED (${changesLine(m.update)})`);
  if (m.retracts !== undefined) lines.push(`WITHDRAWN: advisory ${m.retracts} is withdrawn by its publisher; do not act on it any longer`);
  if (m.state !== undefined) lines.push(`STATUS: ${m.state} (an update on an incident of the publishers' service, not a security advisory)`);
  return lines;
}

/** `text` with the mark lines in front and a blank line after them. */
export function withMarkLines(text: string, m: NoticeMarks, escape: (s: string) => string): string {
  return `${markLines(m).map(escape).join('\n')}\n\n${text}`;
}

/**
 * TLP 2.0's colours for a label shown in a document: the colour on black. An HTML notice shows
 * the label that way; plain text has only the words.
 */
const TLP_COLOURS: Record<Tlp, string> = { CLEAR: '#FFFFFF', GREEN: '#33FF00', AMBER: '#FFC000', 'AMBER+STRICT': '#FFC000' };

/** `html` with the marks as its first paragraph, right after `<body>` (or first of all, without one). */
export function withHtmlMarks(html: string, m: NoticeMarks, escape: (s: string) => string): string {
  const { drill, ...marks } = m;
  const [label, ...rest] = markLines(marks).map(escape);
  const block =
    (drill ? `<p><strong>${escape(DRILL_MARK)}</strong></p>\n` : '') +
    `<p><strong style="background: #000000; color: ${TLP_COLOURS[m.tlp]}; padding: 0 0.3em">${label}</strong>` +
    rest.map((line) => `<br>\n<strong>${line}</strong>`).join('') +
    '</p>\n';
  const body = /<body[^>]*>\n?/i.exec(html);
  if (!body) return block + html;
  const at = body.index + body[0].length;
  return html.slice(0, at) + block + html.slice(at);
}
