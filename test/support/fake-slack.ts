import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCountWaiter } from './count-waiter';

/** One Web API call as the fake received it. */
export interface SlackCall {
  method: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body bytes, as sent over the wire. */
  raw: string;
  /** The arguments, decoded from a form or a JSON body; form fields holding JSON stay strings. */
  args: Record<string, string>;
  /** The token from `Authorization: Bearer` (or a `token` argument). */
  token: string | undefined;
  at: number;
}

/**
 * How the fake answers the n-th chat.postMessage (0-based). Default: ok. `commit` posts the
 * message anyway and then fails: the answer lost on the way back, the case a retry must not repeat.
 */
export type SlackAnswer =
  | { ok: true }
  | { ok: false; error: string }
  | { status: 429; retryAfter: number }
  | { status: 500; commit?: boolean }
  | { hang: true; commit?: boolean };
export type SlackScript = (n: number, call: SlackCall) => SlackAnswer;

export interface FakeSlackOptions {
  /** Tokens granted only `chat:write`: conversations.history answers them `missing_scope`. */
  withoutHistoryScope?: string[];
  /** conversations.history answers HTTP 500 while chat.postMessage works. */
  historyDown?: boolean;
}

const escapeStored = (s: string) => s.replace(/&(?!amp;|lt;|gt;)/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Escapes every string in stored blocks as Slack does when it hands a message back. */
function escapeStrings(node: unknown): unknown {
  if (typeof node === 'string') return escapeStored(node);
  if (Array.isArray(node)) return node.map(escapeStrings);
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'type' ? v : escapeStrings(v)]));
  }
  return node;
}

/**
 * A Slack Web API on loopback that behaves as Slack documents it: POST /api/METHOD with a form or
 * JSON body and `Authorization: Bearer TOKEN`; HTTP 200 with `{ok: true, ...}` or
 * `{ok: false, error}`; HTTP 429 with Retry-After; HTTP 500 when told to fail. Posted messages are
 * stored, stamped `ts` by the clock as Slack does, and served back by conversations.history:
 * newest first, only those after `oldest`, `limit` per page with `response_metadata.next_cursor`,
 * message `metadata` only when `include_all_metadata` is true, and `missing_scope` (with `needed`
 * and `provided`) for a token without `channels:history`.
 */
export async function startFakeSlack(script: SlackScript = () => ({ ok: true }), options: FakeSlackOptions = {}) {
  const calls: SlackCall[] = [];
  const historyCalls: SlackCall[] = [];
  const arrivals = createCountWaiter(() => calls.length, 'fake Slack posts');
  const history = new Map<string, Record<string, unknown>[]>();
  const withoutHistory = new Set(options.withoutHistoryScope ?? []);
  let posts = 0;
  let sequence = 0;

  // Seconds since the epoch, then a per-message sequence: unique, ordered, and as old as the post.
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++sequence % 1_000_000).padStart(6, '0')}`;

  function readHistory(call: SlackCall): Record<string, unknown> {
    if (!call.token) return { ok: false, error: 'not_authed' };
    if (withoutHistory.has(call.token)) return { ok: false, error: 'missing_scope', needed: 'channels:history,groups:history,mpim:history,im:history', provided: 'chat:write' };
    const { channel = '', oldest = '0', limit = '100', cursor = '', include_all_metadata: withMetadata = 'false' } = call.args;
    const newestFirst = [...(history.get(channel) ?? [])].reverse().filter((m) => Number(m.ts) > Number(oldest));
    const from = cursor ? Number(Buffer.from(cursor, 'base64').toString('utf8').replace(/^offset:/, '')) : 0;
    const size = Math.max(1, Math.min(Number(limit) || 100, 999));
    const page = newestFirst.slice(from, from + size).map(({ metadata, ...rest }) => (withMetadata === 'true' && metadata ? { ...rest, metadata } : rest));
    const more = from + size < newestFirst.length;
    return {
      ok: true,
      messages: page,
      has_more: more,
      pin_count: 0,
      response_metadata: { next_cursor: more ? Buffer.from(`offset:${from + size}`).toString('base64') : '' },
    };
  }

  const answer = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = url.pathname.replace(/^\/api\//, '');
      const raw = Buffer.concat(chunks).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      let args: Record<string, string> = Object.fromEntries(url.searchParams);
      if (type.startsWith('application/json')) {
        const parsed = JSON.parse(raw || '{}') as Record<string, unknown>;
        args = { ...args, ...Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])) };
      } else {
        args = { ...args, ...Object.fromEntries(new URLSearchParams(raw)) };
      }
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      const call: SlackCall = { method, headers: req.headers, raw, args, token: bearer ?? args.token, at: Date.now() };

      if (method === 'conversations.history') {
        historyCalls.push(call);
        if (options.historyDown) answer(res, 500, { ok: false, error: 'internal_error' });
        else answer(res, 200, readHistory(call));
        return;
      }
      if (method !== 'chat.postMessage') {
        answer(res, 200, { ok: false, error: 'unknown_method' });
        return;
      }
      calls.push(call);
      const scripted = script(posts++, call);
      const post = () => {
        const channel = args.channel ?? '';
        const message: Record<string, unknown> = {
          type: 'message',
          subtype: 'bot_message',
          bot_id: 'B0FAKE',
          ts: nextTs(),
          text: args.text ?? '',
          ...(args.blocks ? { blocks: escapeStrings(JSON.parse(args.blocks)) } : {}),
          ...(args.metadata ? { metadata: JSON.parse(args.metadata) as unknown } : {}),
        };
        history.set(channel, [...(history.get(channel) ?? []), message]);
        return { channel, message };
      };
      if (call.token && 'commit' in scripted && scripted.commit) post();
      if ('hang' in scripted) {
        // Never answers: the connection stays open until the fake closes.
      } else if (!call.token) answer(res, 200, { ok: false, error: 'not_authed' });
      else if ('status' in scripted && scripted.status === 429) answer(res, 429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(scripted.retryAfter) });
      else if ('status' in scripted) answer(res, 500, { ok: false, error: 'internal_error' });
      else if (!scripted.ok) answer(res, 200, { ok: false, error: scripted.error });
      else {
        const { channel, message } = post();
        answer(res, 200, { ok: true, channel, ts: message.ts, message });
      }
      arrivals.notify();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    /** The API base to enrol as a recipient's `api_url`. */
    apiUrl: `http://127.0.0.1:${port}/api/`,
    /** chat.postMessage calls, in arrival order. */
    calls,
    /** conversations.history calls, in arrival order (the fake's own `history()` reads included). */
    historyCalls,
    /** Messages stored in a channel, oldest first, whatever the answers to their posts were. */
    messagesIn: (channel: string): readonly Record<string, unknown>[] => history.get(channel) ?? [],
    /** What conversations.history answers for a channel, fetched over HTTP as a client would. */
    async history(channel: string, token = 'xoxb-reader-0000'): Promise<Record<string, any>> {
      const r = await fetch(`http://127.0.0.1:${port}/api/conversations.history`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
        body: new URLSearchParams({ channel }).toString(),
      });
      return (await r.json()) as Record<string, any>;
    },
    waitFor: (count: number, timeoutMs = 30_000) => arrivals.waitFor(count, timeoutMs),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;
