import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCountWaiter } from './count-waiter';

/** A status as Mastodon's REST API returns it (the fields tocsin and its readers use). */
export interface FakeStatus {
  id: string;
  created_at: string;
  in_reply_to_id: string | null;
  in_reply_to_account_id: string | null;
  sensitive: boolean;
  spoiler_text: string;
  visibility: string;
  language: string | null;
  uri: string;
  url: string;
  content: string;
  account: { id: string; username: string; acct: string; url: string };
  mentions: { id: string; username: string; acct: string; url: string }[];
  tags: { name: string; url: string }[];
  emojis: unknown[];
  media_attachments: unknown[];
  reblog: null;
  /** Not part of the entity: what was posted, for assertions. Stripped from API answers. */
  _text?: string;
}

export interface PostRequest {
  at: number;
  headers: http.IncomingHttpHeaders;
  params: Record<string, string>;
}

/**
 * Decides the fate of the n-th POST /api/v1/statuses (0-based, replays included). `commit` makes
 * the status anyway and then answers with the error: the answer lost on the way back.
 */
export type PostScript = (n: number, req: PostRequest) => { status: number; headers?: Record<string, string>; error?: string; commit?: boolean } | undefined;

export interface FakeMastodonOptions {
  maxCharacters?: number;
  tokens?: string[];
  /** Tokens granted only `write:statuses`: verify_credentials answers them 403. */
  withoutReadScope?: string[];
  onPost?: PostScript;
}

/** A GET of the account endpoints a retry's lookup uses, as the fake received it. */
export interface LookupRequest {
  at: number;
  path: string;
  query: Record<string, string>;
}

const RESERVED_PER_URL = 23;
const URL_RE = /https?:\/\/[^\s<>"]*[^\s<>".,:;!?'")\]]/g;
// Mastodon's Account::MENTION_RE and Tag::HASHTAG_RE, in JavaScript's Unicode syntax.
const MENTION_RE = /(?<![=/\p{L}\p{M}\p{N}_])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@([\p{L}\p{M}\p{N}_.-]+[\p{L}\p{M}\p{N}_]+))?/giu;
const HASHTAG_RE = /(?<![=/)\p{L}\p{N}])[#\uFF03]([\p{L}\p{M}\p{N}_]*[\p{L}_][\p{L}\p{M}\p{N}_]*)/gu;

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Mastodon's display of a link: scheme hidden, the rest cut to 30 characters with an ellipsis. */
function renderLink(url: string): string {
  const m = /^(https?:\/\/(?:www\.)?)(.*)$/.exec(url)!;
  const [, prefix, rest] = m as unknown as [string, string, string];
  const shown = rest.length > 30 ? `<span class="ellipsis">${escapeHtml(rest.slice(0, 30))}</span><span class="invisible">${escapeHtml(rest.slice(30))}</span>` : `<span class="">${escapeHtml(rest)}</span><span class="invisible"></span>`;
  return `<a href="${escapeHtml(url)}" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">${escapeHtml(prefix)}</span>${shown}</a>`;
}

/**
 * Mastodon's TextFormatter for a local plain-text status: HTML-escape, link URLs, mentions and
 * hashtags, then Rails' simple_format: paragraphs at blank lines, `<br />` at line breaks.
 */
function formatStatus(text: string, base: string, mentions: FakeStatus['mentions'], tags: FakeStatus['tags']): string {
  const entities: { start: number; end: number; html: string }[] = [];
  for (const m of text.matchAll(URL_RE)) entities.push({ start: m.index, end: m.index + m[0].length, html: renderLink(m[0]) });
  const free = (start: number, end: number) => entities.every((e) => end <= e.start || start >= e.end);
  for (const m of text.matchAll(MENTION_RE)) {
    if (!free(m.index, m.index + m[0].length)) continue;
    const [, username, domain] = m as unknown as [string, string, string | undefined];
    const url = domain ? `https://${domain}/@${username}` : `${base}/@${username}`;
    mentions.push({ id: String(mentions.length + 1000), username, acct: domain ? `${username}@${domain}` : username, url });
    entities.push({ start: m.index, end: m.index + m[0].length, html: `<span class="h-card" translate="no"><a href="${escapeHtml(url)}" class="u-url mention">@<span>${escapeHtml(username)}</span></a></span>` });
  }
  for (const m of text.matchAll(HASHTAG_RE)) {
    if (!free(m.index, m.index + m[0].length)) continue;
    const name = m[1]!;
    tags.push({ name: name.toLowerCase(), url: `${base}/tags/${name.toLowerCase()}` });
    entities.push({ start: m.index, end: m.index + m[0].length, html: `<a href="${base}/tags/${escapeHtml(name)}" class="mention hashtag" rel="tag">#<span>${escapeHtml(name)}</span></a>` });
  }
  entities.sort((a, b) => a.start - b.start);
  let html = '';
  let at = 0;
  for (const e of entities) {
    html += escapeHtml(text.slice(at, e.start)) + e.html;
    at = e.end;
  }
  html += escapeHtml(text.slice(at));
  const paragraphs = html.replace(/\r\n?/g, '\n').split(/\n\n+/);
  return paragraphs.map((p) => `<p>${p.replace(/\n/g, '<br />')}</p>`).join('');
}

/** Mastodon's StatusLengthValidator: the content warning counts, every URL counts as 23. */
export function mastodonLength(text: string, spoiler: string): number {
  const countable = text.replace(URL_RE, 'x'.repeat(RESERVED_PER_URL));
  return Array.from(spoiler + countable).length;
}

/**
 * A Mastodon instance on loopback, following its documented REST API closely enough for tocsin's
 * channel and for reading a thread back: instance limits, posting with Bearer tokens and
 * Idempotency-Key, statuses and their context, the account's credentials and its statuses (newest
 * first, `limit` up to 40, `max_id`), and the errors Mastodon answers with. One account, id 1.
 */
export async function startFakeMastodon(options: FakeMastodonOptions = {}) {
  const maxCharacters = options.maxCharacters ?? 500;
  const tokens = new Set(options.tokens ?? ['good-token-0123456789']);
  const statuses: FakeStatus[] = [];
  const arrivals = createCountWaiter(() => statuses.length, 'fake Mastodon statuses');
  const byId = new Map<string, FakeStatus>();
  const idempotent = new Map<string, string>();
  const posts: PostRequest[] = [];
  const lookups: LookupRequest[] = [];
  const withoutRead = new Set(options.withoutReadScope ?? []);
  let replays = 0;
  let nextId = 110_000_000_000_000_000n;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', base);
      const answer = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(json, (k, v: unknown) => (k === '_text' ? undefined : v)));
      };
      if (req.method === 'GET' && url.pathname === '/api/v2/instance') {
        return answer(200, {
          domain: '127.0.0.1',
          title: 'Fake Mastodon',
          version: '4.3.0',
          configuration: {
            urls: {},
            accounts: { max_featured_tags: 10 },
            statuses: { max_characters: maxCharacters, max_media_attachments: 4, characters_reserved_per_url: RESERVED_PER_URL },
          },
        });
      }
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const authorised = token !== undefined && tokens.has(token);
      if (req.method === 'GET' && url.pathname === '/api/v1/accounts/verify_credentials') {
        lookups.push({ at: Date.now(), path: url.pathname, query: Object.fromEntries(url.searchParams) });
        if (!authorised) return answer(401, { error: 'The access token is invalid' });
        if (withoutRead.has(token)) return answer(403, { error: 'This action is outside the authorized scopes' });
        return answer(200, { ...account(), source: { privacy: 'public', sensitive: false, language: 'en', note: '', fields: [] } });
      }
      const accountStatuses = /^\/api\/v1\/accounts\/([^/]+)\/statuses$/.exec(url.pathname);
      if (req.method === 'GET' && accountStatuses) {
        lookups.push({ at: Date.now(), path: url.pathname, query: Object.fromEntries(url.searchParams) });
        if (accountStatuses[1] !== '1') return answer(404, { error: 'Record not found' });
        const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 20) || 20, 1), 40);
        const maxId = url.searchParams.get('max_id');
        const page = [...statuses].reverse().filter((s) => !maxId || BigInt(s.id) < BigInt(maxId)).slice(0, limit);
        return answer(200, page);
      }
      const status = /^\/api\/v1\/statuses\/(\d+)(\/context)?$/.exec(url.pathname);
      if (req.method === 'GET' && status) {
        const found = byId.get(status[1]!);
        if (!found) return answer(404, { error: 'Record not found' });
        if (!status[2]) return answer(200, found);
        const ancestors: FakeStatus[] = [];
        for (let s = found; s.in_reply_to_id && byId.has(s.in_reply_to_id); ) {
          s = byId.get(s.in_reply_to_id)!;
          ancestors.unshift(s);
        }
        const descendants: FakeStatus[] = [];
        const walk = (parent: FakeStatus) => {
          for (const child of statuses.filter((s) => s.in_reply_to_id === parent.id)) {
            descendants.push(child);
            walk(child);
          }
        };
        walk(found);
        return answer(200, { ancestors, descendants });
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/statuses') {
        const params = parseParams(req.headers['content-type'] ?? '', body);
        const request: PostRequest = { at: Date.now(), headers: req.headers, params };
        const n = posts.length;
        posts.push(request);
        const scripted = options.onPost?.(n, request);
        if (!authorised) return answer(401, { error: 'The access token is invalid' });
        const key = req.headers['idempotency-key'];
        const seen = typeof key === 'string' ? idempotent.get(`${token}:${key}`) : undefined;
        if (seen !== undefined) {
          replays += 1;
          return answer(200, byId.get(seen));
        }
        if (scripted && !scripted.commit) return answer(scripted.status, { error: scripted.error ?? 'Scripted failure' }, scripted.headers);
        const text = params.status ?? '';
        const spoiler = params.spoiler_text ?? '';
        if (text.trim() === '') return answer(422, { error: "Validation failed: Text can't be blank" });
        if (mastodonLength(text, spoiler) > maxCharacters) return answer(422, { error: `Validation failed: Text character limit of ${maxCharacters} exceeded` });
        const parent = params.in_reply_to_id ? byId.get(params.in_reply_to_id) : undefined;
        if (params.in_reply_to_id && !parent) return answer(404, { error: 'Record not found' });
        nextId += 1n;
        const id = nextId.toString();
        const mentions: FakeStatus['mentions'] = [];
        const tags: FakeStatus['tags'] = [];
        const created: FakeStatus = {
          id,
          created_at: new Date().toISOString(),
          in_reply_to_id: parent?.id ?? null,
          in_reply_to_account_id: parent ? parent.account.id : null,
          sensitive: spoiler !== '',
          spoiler_text: spoiler,
          visibility: params.visibility ?? 'public',
          language: params.language ?? null,
          uri: `${base}/users/tocsin/statuses/${id}`,
          url: `${base}/@tocsin/${id}`,
          content: formatStatus(text, base, mentions, tags),
          account: { id: '1', username: 'tocsin', acct: 'tocsin', url: `${base}/@tocsin` },
          mentions,
          tags,
          emojis: [],
          media_attachments: [],
          reblog: null,
          _text: text,
        };
        statuses.push(created);
        byId.set(id, created);
        if (typeof key === 'string') idempotent.set(`${token}:${key}`, id);
        arrivals.notify();
        if (scripted) return answer(scripted.status, { error: scripted.error ?? 'Scripted failure' }, scripted.headers);
        return answer(200, created);
      }
      if (!authorised) return answer(401, { error: 'The access token is invalid' });
      return answer(404, { error: 'Record not found' });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function account() {
    return {
      id: '1',
      username: 'tocsin',
      acct: 'tocsin',
      display_name: 'tocsin',
      locked: false,
      bot: true,
      created_at: '2025-01-01T00:00:00.000Z',
      note: '',
      url: `${base}/@tocsin`,
      avatar: '',
      header: '',
      followers_count: 0,
      following_count: 0,
      statuses_count: statuses.length,
      last_status_at: null,
      emojis: [],
      fields: [],
    };
  }

  return {
    url: base,
    statuses,
    posts,
    /** GETs of verify_credentials and of the account's statuses, in arrival order. */
    lookups,
    /** Mastodon remembers an Idempotency-Key for an hour; this is that hour passing. */
    forgetIdempotencyKeys: () => idempotent.clear(),
    get replays() {
      return replays;
    },
    /** Resolves once `count` statuses exist. */
    waitForStatuses: (count: number, timeoutMs = 30_000) => arrivals.waitFor(count, timeoutMs),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type FakeMastodon = Awaited<ReturnType<typeof startFakeMastodon>>;

/** Mastodon takes JSON, form or multipart bodies; tocsin's client sends JSON, curl users forms. */
function parseParams(contentType: string, body: string): Record<string, string> {
  if (contentType.startsWith('application/json')) {
    const parsed = JSON.parse(body || '{}') as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(body));
}
