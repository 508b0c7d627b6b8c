import type { InputParser } from './signed-input';
import { statusHtmlToText } from '../../notices/mastodon-html';

/** The parts of a Mastodon Status entity that put a thread back together. */
interface StatusLike {
  id: string;
  content: string;
  in_reply_to_id?: string | null;
  account?: { id?: string };
}

const BEGIN = '-----BEGIN PGP SIGNED MESSAGE-----';
const END = '-----END PGP SIGNATURE-----';

function isStatus(v: unknown): v is StatusLike {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.id === 'string' && typeof o.content === 'string' && ('uri' in o || 'account' in o || 'in_reply_to_id' in o);
}

/** Statuses from a status, an array of statuses, a context ({ancestors, descendants}), or arrays of those. */
function collectStatuses(v: unknown, into: Map<string, StatusLike>, depth = 0): void {
  if (depth > 3 || !v || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const item of v) collectStatuses(item, into, depth + 1);
    return;
  }
  if (isStatus(v)) {
    into.set(v.id, v);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const field of ['ancestors', 'status', 'descendants'] as const) collectStatuses(o[field], into, depth + 1);
}

/**
 * Thread order: from the first status, each next one is the earliest reply to it by the same
 * account, so other people's replies in a context never slip into the notice.
 */
function threadOrder(statuses: Map<string, StatusLike>): StatusLike[] {
  const all = [...statuses.values()];
  const root = all.find((s) => !s.in_reply_to_id || !statuses.has(s.in_reply_to_id)) ?? all[0];
  const order: StatusLike[] = [];
  for (let current = root; current && order.length < statuses.size; ) {
    order.push(current);
    const parent = current;
    current = all
      .filter((s) => s.in_reply_to_id === parent.id && s.account?.id === parent.account?.id)
      .sort((a, b) => compareIds(a.id, b.id))[0];
  }
  return order;
}

/** Mastodon ids are numeric strings that grow with time. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * A Mastodon status or thread as the API returns it (`GET /api/v1/statuses/:id`, its
 * `/context`, or a JSON array of either). Tocsin splits its signed block only at line breaks
 * between statuses, so joining the statuses' texts with one line break gives the block back.
 */
export const parseMastodonInput: InputParser = (_text, json) => {
  const statuses = new Map<string, StatusLike>();
  collectStatuses(json, statuses);
  if (statuses.size === 0) return null;
  const thread = threadOrder(statuses);
  const text = thread.map((s) => statusHtmlToText(s.content)).join('\n');
  const end = text.lastIndexOf(END);
  const start = end < 0 ? -1 : text.lastIndexOf(BEGIN, end);
  if (start < 0) return null;
  const form = thread.length === 1 ? 'Mastodon status' : `Mastodon thread (${thread.length} statuses)`;
  return { kind: 'cleartext', cleartext: text.slice(start, end + END.length), form };
};
