import { CliFailure } from './commands';

/** Where the API is; `token` is TOCSIN_ADMIN_TOKEN, for the admin routes. */
export interface ApiTarget {
  url: string;
  token?: string | undefined;
}

export interface ApiRequest {
  body?: unknown;
  /** Send the admin token; exit 2 when TOCSIN_ADMIN_TOKEN is not set. */
  admin?: boolean;
  /** Ends the request (an interrupt, a deadline). */
  signal?: AbortSignal;
}

/**
 * One request to the tocsin API, answered with its parsed JSON (null for 204). A refusal prints
 * the server's error body on stderr, where it names the offending fields, and exits 1.
 */
export async function callApi(target: ApiTarget, method: string, path: string, request: ApiRequest = {}): Promise<unknown> {
  if (request.admin && !target.token) throw new CliFailure("set TOCSIN_ADMIN_TOKEN to the server's admin token", 2);
  const endpoint = new URL(path, target.url);
  let response: Response;
  let text: string;
  try {
    response = await fetch(endpoint, {
      method,
      headers: {
        ...(request.admin ? { authorization: `Bearer ${target.token!}` } : {}),
        ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    text = await response.text();
  } catch (err) {
    if (request.signal?.aborted) throw err;
    // fetch says only "fetch failed": the socket's code (ECONNREFUSED, ENOTFOUND) is in its cause.
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    throw new CliFailure(`cannot reach ${endpoint.href}: ${String(cause?.code ?? cause?.message ?? (err as Error).message)}`);
  }
  if (!response.ok) {
    console.error(text);
    throw new CliFailure(`${method} ${endpoint.href} answered ${response.status}`);
  }
  return text === '' ? null : (JSON.parse(text) as unknown);
}
