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

/** How the fake answers the n-th chat.postMessage (0-based). Default: ok. */
export type SlackAnswer = { ok: true } | { ok: false; error: string } | { status: 429; retryAfter: number } | { status: 500 } | { hang: true };
export type SlackScript = (n: number, call: SlackCall) => SlackAnswer;

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
 * stored and served back by conversations.history, newest first, as a Slack client reads them.
 */
export async function startFakeSlack(script: SlackScript = () => ({ ok: true })) {
  const calls: SlackCall[] = [];
  const arrivals = createCountWaiter(() => calls.length, 'fake Slack posts');
  const history = new Map<string, Record<string, unknown>[]>();
  let posts = 0;
  let clock = 1_700_000_000;

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
        answer(res, 200, { ok: true, messages: [...(history.get(args.channel ?? '') ?? [])].reverse(), has_more: false });
        return;
      }
      if (method !== 'chat.postMessage') {
        answer(res, 200, { ok: false, error: 'unknown_method' });
        return;
      }
      calls.push(call);
      const scripted = script(posts++, call);
      if ('hang' in scripted) {
        // Never answers: the connection stays open until the fake closes.
      } else if (!call.token) answer(res, 200, { ok: false, error: 'not_authed' });
      else if ('status' in scripted && scripted.status === 429) answer(res, 429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(scripted.retryAfter) });
      else if ('status' in scripted) answer(res, 500, { ok: false, error: 'internal_error' });
      else if (!scripted.ok) answer(res, 200, { ok: false, error: scripted.error });
      else {
        const channel = args.channel ?? '';
        const ts = `${clock++}.000100`;
        const message: Record<string, unknown> = {
          type: 'message',
          subtype: 'bot_message',
          bot_id: 'B0FAKE',
          ts,
          text: args.text ?? '',
          ...(args.blocks ? { blocks: escapeStrings(JSON.parse(args.blocks)) } : {}),
        };
        history.set(channel, [...(history.get(channel) ?? []), message]);
        answer(res, 200, { ok: true, channel, ts, message });
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
