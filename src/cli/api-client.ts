import { setTimeout as sleep } from 'node:timers/promises';
import { CliFailure } from './commands';
import { deadlineSignal } from '../util/deadline-signal';

/**
 * How long one request to the server may take, answer included: on the worst day a wedged
 * server must not wedge the person at the terminal too. `tocsin publish --timeout` says the same
 * for a submission.
 */
export const CLI_REQUEST_TIMEOUT_MS = 30_000;

/** Where the API is; `token` is TOCSIN_ADMIN_TOKEN, for the admin routes. */
export interface ApiTarget {
  url: string;
  token?: string | undefined;
  /** Default {@link CLI_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Retry-After in whole seconds (what tocsin sends), at most 30 s; null when absent or otherwise. */
function retryAfterMs(value: string | null): number | null {
  return value !== null && /^\d{1,9}$/.test(value.trim()) ? Math.min(Number(value.trim()), 30) * 1000 : null;
}

/** What a request that ran out of time says: nothing is known of what the server did with it. */
function timedOut(endpoint: URL, timeoutMs: number): CliFailure {
  return new CliFailure(`${endpoint.href} did not answer within ${timeoutMs / 1000} s: the server may be overloaded or wedged; check what it did before repeating a change`);
}

export interface ApiRequest {
  body?: unknown;
  /** Send the admin token; exit 2 when TOCSIN_ADMIN_TOKEN is not set. */
  admin?: boolean;
  /** Ends the request (an interrupt, a deadline). */
  signal?: AbortSignal;
  /** More request headers, e.g. `X-Tocsin-Actor`. */
  headers?: Record<string, string>;
  /** A body sent as it is, e.g. a file streamed from disk, instead of `body` as JSON. */
  rawBody?: { data: ReadableStream<Uint8Array> | string; type: string };
  /** Shows a refusal's body (default: printed as it came, on stderr). */
  showRefusal?: (text: string) => void;
}

/**
 * One request to the tocsin API, answered with its parsed JSON (null for 204). A refusal prints
 * the server's error body on stderr, where it names the offending fields, and exits 1.
 */
export async function callApi(target: ApiTarget, method: string, path: string, request: ApiRequest = {}): Promise<unknown> {
  if (request.admin && !target.token) throw new CliFailure("set TOCSIN_ADMIN_TOKEN to the server's admin token", 2);
  const endpoint = new URL(path, target.url);
  const timeoutMs = target.timeoutMs ?? CLI_REQUEST_TIMEOUT_MS;
  // The request's own deadline, joined with the caller's signal (an interrupt) when there is one.
  const deadline = deadlineSignal(timeoutMs, request.signal);
  let response: Response;
  let text: string;
  try {
    for (;;) {
      try {
        response = await fetch(endpoint, {
          method,
          headers: {
            ...(request.admin ? { authorization: `Bearer ${target.token!}` } : {}),
            ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(request.rawBody ? { 'content-type': request.rawBody.type } : {}),
            ...request.headers,
          },
          ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
          // A stream is sent as it is read: `duplex` says the answer may come only after it ends.
          ...(request.rawBody ? { body: request.rawBody.data, duplex: 'half' } : {}),
          signal: deadline.signal,
        });
        text = await response.text();
        // A read the server had no room for just now (503 with Retry-After: a delivery list of a
        // large revision while others are read) is asked again when it says, within the deadline.
        const wait = method === 'GET' && response.status === 503 ? retryAfterMs(response.headers.get('retry-after')) : null;
        if (wait === null) break;
        await sleep(wait, undefined, { signal: deadline.signal });
      } catch (err) {
        if (request.signal?.aborted) throw err;
        if (deadline.expired()) throw timedOut(endpoint, timeoutMs);
        // fetch says only "fetch failed": the socket's code (ECONNREFUSED, ENOTFOUND) is in its cause.
        const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
        throw new CliFailure(`cannot reach ${endpoint.href}: ${String(cause?.code ?? cause?.message ?? (err as Error).message)}`);
      }
    }
  } finally {
    deadline.clear();
  }
  if (!response.ok) {
    (request.showRefusal ?? console.error)(text);
    throw new CliFailure(`${method} ${endpoint.href} answered ${response.status}`);
  }
  return text === '' ? null : (JSON.parse(text) as unknown);
}
