import { readFile } from 'node:fs/promises';
import { callApi } from './api-client';

/** One admin call, with who makes the change (`X-Tocsin-Actor`) when it is one. */
async function adminCall(url: string, token: string | undefined, method: string, path: string, options: { actor?: string; body?: unknown } = {}) {
  return (await callApi({ url, token }, method, path, {
    admin: true,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.actor !== undefined ? { headers: { 'x-tocsin-actor': options.actor } } : {}),
  })) as Record<string, unknown>;
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
