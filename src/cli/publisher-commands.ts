import { readFile } from 'node:fs/promises';
import { CLI_REQUEST_TIMEOUT_MS, requestDeadline, timedOut } from './api-client';
import { CliFailure } from './commands';

/** The admin API's bearer token, for the commands that talk to it. */
function requireToken(token: string | undefined): string {
  if (!token) throw new CliFailure('set TOCSIN_ADMIN_TOKEN to the server\'s admin token', 2);
  return token;
}

async function adminCall(url: string, token: string | undefined, method: string, path: string, options: { actor?: string; body?: unknown } = {}) {
  const endpoint = new URL(path, url);
  const authorization = `Bearer ${requireToken(token)}`;
  const deadline = requestDeadline(CLI_REQUEST_TIMEOUT_MS);
  let response: Response;
  let text: string;
  try {
    response = await fetch(endpoint, {
      method,
      headers: {
        authorization,
        ...(options.actor !== undefined ? { 'x-tocsin-actor': options.actor } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: deadline.signal,
    });
    text = await response.text();
  } catch (err) {
    if (deadline.expired()) throw timedOut(endpoint, CLI_REQUEST_TIMEOUT_MS);
    throw err;
  }
  if (!response.ok) {
    console.log(text);
    throw new CliFailure(`${endpoint.href} answered ${response.status}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** `tocsin publishers add FILE --actor NAME --url URL`: prints the API's answer, JSON (with or without `--json`). */
export async function publishersAdd(file: string, actor: string, url: string, token: string | undefined): Promise<void> {
  const key = await readFile(file, 'utf8');
  const body = await adminCall(url, token, 'POST', '/v1/publishers', { actor, body: { key } });
  console.log(JSON.stringify(body, null, 2));
}

/** `tocsin publishers remove FINGERPRINT --actor NAME --url URL`: prints the API's answer, JSON (with or without `--json`). */
export async function publishersRemove(fingerprint: string, actor: string, url: string, token: string | undefined): Promise<void> {
  const compact = fingerprint.replace(/\s+/g, '');
  const body = await adminCall(url, token, 'DELETE', `/v1/publishers/${encodeURIComponent(compact)}`, { actor });
  console.log(JSON.stringify(body, null, 2));
}

/** `tocsin publishers list --url URL`: one line per publisher, then the audit head (`--json`: the API's answer). */
export async function publishersList(url: string, token: string | undefined, options: { json?: boolean } = {}): Promise<void> {
  const body = await adminCall(url, token, 'GET', '/v1/publishers');
  if (options.json) {
    console.log(JSON.stringify(body, null, 2));
    return;
  }
  const publishers = body.publishers as { fingerprint: string; status: string; user_ids: string[] }[];
  for (const p of publishers) console.log(`${p.fingerprint}  ${p.status}  ${p.user_ids.join(', ')}`);
  const head = body.audit_head as { seq: number; hash: string } | null;
  console.log(head ? `audit head: seq ${head.seq} ${head.hash}` : 'audit log: empty');
}
