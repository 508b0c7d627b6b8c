import { createHash } from 'node:crypto';
import { decodeQuotedPrintable } from '../notices/pgp-mime';

/** One recipient's line of a bounce: who, what the relay did, and the RFC 3463 status code. */
export interface BounceEntry {
  address: string;
  /** RFC 3464 Action: failed, delayed, delivered, relayed or expanded. */
  action: string;
  /** e.g. `5.1.1`. */
  status: string;
  /**
   * Which report this is, for this address: the same report handed over twice (a relay retrying
   * its POST) has the same one, so it counts once. Absent: the report cannot be told from another.
   */
  report?: string;
}

/** The identity of entry `id` of a relay's own (JSON) report for `address`: see {@link BounceEntry.report}. */
export function relayReportIdentity(id: string, address: string): string {
  return createHash('sha256').update(`relay\n${id}\n${address.toLowerCase()}`).digest('hex');
}

/** A hard bounce: the relay gave up for good (RFC 3463 class 5). A delay (4.x.x) is not one. */
export function isHardBounce(entry: BounceEntry): boolean {
  return entry.action === 'failed' && entry.status.startsWith('5.');
}

/** The report cannot be read: the message names what is missing. */
export class UnreadableReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableReportError';
  }
}

/** A limit on nesting, so a report of reports of reports cannot make the reader recurse without end. */
const MAX_DEPTH = 5;

/**
 * The per-recipient entries of an RFC 3464 delivery status notification: a `multipart/report`
 * holding a `message/delivery-status` part (or RFC 6533's `message/global-delivery-status`).
 * `contentType` is the body's own type when the caller has it (an HTTP Content-Type); without
 * it, `raw` is a whole message and its headers say.
 */
export function readDeliveryStatus(raw: string, contentType?: string): BounceEntry[] {
  const entity = contentType === undefined || /^message\/rfc822\b/i.test(contentType) ? splitEntity(raw) : { headers: new Map([['content-type', contentType]]), body: raw };
  const entries: BounceEntry[] = [];
  if (!collect(entity, entries, 0)) throw new UnreadableReportError('holds no message/delivery-status part (RFC 3464): is it a delivery status notification?');
  return entries;
}

interface Entity {
  headers: Map<string, string>;
  body: string;
}

/** Headers (unfolded, names in lower case) and the body after the first empty line. */
function splitEntity(text: string): Entity {
  const normalised = text.replace(/\r\n/g, '\n');
  const blank = normalised.search(/\n\n/);
  const head = blank < 0 ? normalised : normalised.slice(0, blank);
  const body = blank < 0 ? '' : normalised.slice(blank + 2);
  return { headers: fields(head), body };
}

/** `Name: value` lines, continuation lines joined to the one before. The first of a name wins. */
function fields(block: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of block.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!map.has(name)) map.set(name, line.slice(colon + 1).trim());
  }
  return map;
}

const mediaType = (contentType: string | undefined) => (contentType ?? 'text/plain').split(';')[0]!.trim().toLowerCase();

function decodeBody(entity: Entity): string {
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(entity.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(entity.body);
  return entity.body;
}

/** Walks the entity's parts; true when a delivery-status part was found. */
function collect(entity: Entity, into: BounceEntry[], depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const contentType = entity.headers.get('content-type');
  const type = mediaType(contentType);
  if (type === 'message/delivery-status' || type === 'message/global-delivery-status') {
    into.push(...recipientEntries(decodeBody(entity)));
    return true;
  }
  if (!type.startsWith('multipart/')) return false;
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const delimiter = boundary?.[1] ?? boundary?.[2];
  if (!delimiter) return false;
  let found = false;
  const lines = entity.body.replace(/\r\n/g, '\n').split('\n');
  let part: string[] | null = null;
  for (const line of lines) {
    if (line.startsWith(`--${delimiter}`)) {
      if (part) found = collect(splitEntity(part.join('\n')), into, depth + 1) || found;
      if (line.startsWith(`--${delimiter}--`)) {
        part = null;
        break;
      }
      part = [];
    } else if (part) part.push(line);
  }
  return found;
}

/**
 * The per-recipient field groups: the groups after the first (per-message) one, each with a
 * Final-Recipient, an Action and a Status (RFC 3464 section 2.3). A group without them is skipped.
 */
function recipientEntries(text: string): BounceEntry[] {
  const groups = text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/).map((g) => g.trim()).filter((g) => g !== '');
  const entries: BounceEntry[] = [];
  const perMessage = canonical(groups[0] ?? '');
  for (const group of groups.slice(1)) {
    const f = fields(group);
    const address = addressOf(f.get('final-recipient') ?? f.get('original-recipient'));
    const action = withoutComments(f.get('action') ?? '').toLowerCase();
    const status = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(f.get('status') ?? '')?.[1];
    if (address && action && status) entries.push({ address, action, status, report: reportIdentity(perMessage, canonical(group)) });
  }
  return entries;
}

/**
 * A report's identity for one recipient: a hash of the per-message fields (Reporting-MTA,
 * Arrival-Date, Original-Envelope-Id, the relay's queue id...) and the recipient's own group
 * (Final-Recipient, Action, Status, Last-Attempt-Date...). Only the delivery-status part counts,
 * so the whole bounce message and its report alone, or the report re-wrapped, are the same report;
 * two bounces of two messages differ in those fields.
 */
function reportIdentity(perMessage: string, recipientGroup: string): string {
  return createHash('sha256').update(`rfc3464\n${perMessage}\n\n${recipientGroup}`).digest('hex');
}

/** A field group as its meaning: folded lines joined, runs of white space one space, field names in lower case. */
function canonical(group: string): string {
  return group
    .replace(/\n[ \t]+/g, ' ')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim().replace(/^[^:]+:/, (name) => name.toLowerCase()))
    .filter((line) => line !== '')
    .join('\n');
}

/** `rfc822; <user@example.org> (comment)` to `user@example.org`. */
function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const semicolon = value.indexOf(';');
  const address = withoutComments(semicolon >= 0 ? value.slice(semicolon + 1) : value).replace(/^<|>$/g, '').trim();
  return /^[^\s@]+@[^\s@]+$/.test(address) ? address : undefined;
}

const withoutComments = (value: string) => value.replace(/\([^()]*\)/g, '').trim();
