import type { mastodon } from 'masto';
import { statusHtmlToText } from '../notices/mastodon-html';

/** What identifies the thread of one notice among an account's statuses. */
export interface PostedThreadQuery {
  /** The content warning every status of the thread carries. */
  spoilerText: string;
  /** The planned texts, first to last, as `planThread` gives them. */
  posts: readonly string[];
  /** No earlier attempt is older than this (epoch ms): the statuses are read back to it, no further. */
  sinceMs: number;
  /** Runs one request to the instance with the signal that bounds it (its own timeout, and the job's cancellation). */
  bounded: <T>(request: (signal: AbortSignal) => Promise<T>) => Promise<T>;
}

/** Statuses per page: Mastodon's maximum for an account's statuses. */
const PAGE_SIZE = 40;
/** Pages read at most: an account busier than this since the notice was accepted is not searched to the end. */
const MAX_PAGES = 5;
/** The instance stamps statuses by its own clock; ours may be behind it by this much. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Mastodon keeps the text's words and line breaks, not necessarily the spaces around them. */
const comparable = (text: string) => text.replace(/\s+/g, ' ').trim();

/**
 * The part of the notice's thread the account has already posted, first to last: empty when
 * none is found, shorter than `posts` when an earlier attempt stopped midway. A status belongs to
 * the thread when it carries the notice's content warning and the planned text at its place, and
 * (after the first) replies to the status before it; the first status of a notice names the
 * advisory and its revision, so no other notice's thread matches.
 *
 * Asks `GET /api/v1/accounts/verify_credentials` for the account's id (scope `read:accounts`, or
 * `profile` on Mastodon 4.3+), then `GET /api/v1/accounts/:id/statuses`, newest first. Throws the
 * client's error on any failure; the caller decides what that means.
 */
export async function findPostedThread(client: mastodon.rest.Client, query: PostedThreadQuery): Promise<mastodon.v1.Status[]> {
  const meta = (signal: AbortSignal) => ({ requestInit: { signal } });
  const me = await query.bounded((signal) => client.v1.accounts.verifyCredentials(undefined, meta(signal)));
  const oldest = query.sinceMs - CLOCK_SKEW_MS;
  const recent: mastodon.v1.Status[] = [];
  let maxId: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const page = { limit: PAGE_SIZE, ...(maxId ? { maxId } : {}) };
    // A Paginator is a thenable, not a Promise: awaited inside, so the deadline covers it.
    const statuses = await query.bounded(async (signal) => await client.v1.accounts.$select(me.id).statuses.list(page, meta(signal)));
    recent.push(...statuses);
    const last = statuses.at(-1);
    if (!last || Date.parse(last.createdAt) < oldest) break;
    maxId = last.id;
  }

  const matches = (status: mastodon.v1.Status, index: number) =>
    status.spoilerText === query.spoilerText && comparable(statusHtmlToText(status.content)) === comparable(query.posts[index] ?? '');
  // Oldest first: should an earlier retry have posted the thread twice, continue the first one.
  const head = recent.filter((s) => !s.inReplyToId && matches(s, 0)).at(-1);
  if (!head) return [];
  const thread = [head];
  for (let index = 1; index < query.posts.length; index++) {
    const parent = thread.at(-1)!;
    const next = recent.filter((s) => s.inReplyToId === parent.id && matches(s, index)).at(-1);
    if (!next) break;
    thread.push(next);
  }
  return thread;
}
