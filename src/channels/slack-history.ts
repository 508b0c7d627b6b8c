import { WebAPIPlatformError, type WebClient } from '@slack/web-api';

/** What identifies tocsin's own post of a notice in a channel's history. */
export interface PostedNoticeQuery {
  channelId: string;
  /** The `event_type` of the message metadata tocsin posts with. */
  eventType: string;
  /** `event_payload.message_id`: the notice's stable id. */
  messageId: string;
  /** No earlier attempt is older than this (epoch ms): the history is read back to it, no further. */
  sinceMs: number;
  /** Give up paging after this long; a page already asked for is bounded by the client's timeout. */
  deadlineMs: number;
}

/** Messages per conversations.history page; Slack recommends no more than 200. */
const PAGE_SIZE = 200;
/** Pages read at most: a channel busier than this since the notice was accepted is not searched to the end. */
const MAX_PAGES = 3;
/** Slack stamps messages by its own clock; ours may be behind it by this much. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** The lookup could not answer; `reason` is Slack's error code where it gave one (e.g. `missing_scope`). */
export class HistoryLookupError extends Error {
  constructor(readonly reason: string, options: { cause: unknown }) {
    super(`reading the channel history failed: ${reason}`, options);
    this.name = 'HistoryLookupError';
  }
}

/**
 * Looks for a message tocsin already posted for this notice, by its message metadata: the `ts` of
 * the first found, or null when none is in the window read. Needs `channels:history` (or
 * `groups:history` for a private channel). Throws {@link HistoryLookupError} on any failure.
 */
export async function findPostedNotice(client: WebClient, query: PostedNoticeQuery): Promise<string | null> {
  const started = Date.now();
  const oldest = (Math.max(0, query.sinceMs - CLOCK_SKEW_MS) / 1000).toFixed(6);
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let answer: Awaited<ReturnType<WebClient['conversations']['history']>>;
    try {
      answer = await client.conversations.history({
        channel: query.channelId,
        oldest,
        limit: PAGE_SIZE,
        include_all_metadata: true,
        ...(cursor ? { cursor } : {}),
      });
    } catch (err) {
      const reason = err instanceof WebAPIPlatformError ? err.data.error : err instanceof Error ? err.message : String(err);
      throw new HistoryLookupError(reason, { cause: err });
    }
    const found = answer.messages?.find(
      (m) => m.metadata?.event_type === query.eventType && (m.metadata.event_payload as { message_id?: unknown } | undefined)?.message_id === query.messageId,
    );
    if (found) return found.ts ?? '?';
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!answer.has_more || !cursor || Date.now() - started > query.deadlineMs) return null;
  }
  return null;
}
