import { readFile } from 'node:fs/promises';
import { callApi, type ApiTarget } from './api-client';
import { printJson, table } from './cli-output';
import { CliFailure } from './commands';

/** A recipient as the admin API shows it: secrets are never in it, except a generated webhook secret once. */
interface RecipientView {
  id: string;
  type: 'webhook' | 'email' | 'slack' | 'mastodon';
  created_at: string;
  description?: string;
  url?: string;
  address?: string;
  channel_id?: string;
  api_url?: string;
  instance_url?: string;
  secret?: string;
}

export interface AddOptions {
  description?: string;
  json?: boolean;
}

/**
 * A secret read from a file (argv is visible to every user in `ps` and lands in shell history).
 * Surrounding whitespace is dropped: `echo` and editors add a newline that no token contains.
 */
export async function secretFromFile(file: string, option: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`${option}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  const secret = text.trim();
  if (secret === '') throw new CliFailure(`${option}: ${file} is empty`, 2);
  return secret;
}

/** Where a recipient's notices go, in one cell. */
function targetOf(r: RecipientView): string {
  switch (r.type) {
    case 'webhook':
      return r.url ?? '';
    case 'email':
      return r.address ?? '';
    case 'slack':
      return `${r.channel_id ?? ''} via ${r.api_url ?? ''}`;
    case 'mastodon':
      return r.instance_url ?? '';
  }
}

/** `tocsin recipients add TYPE ...`: POST /v1/recipients with the body the type asks for. */
export async function recipientsAdd(target: ApiTarget, body: Record<string, unknown>, options: AddOptions): Promise<void> {
  const answer = (await callApi(target, 'POST', '/v1/recipients', {
    admin: true,
    body: { ...body, ...(options.description !== undefined ? { description: options.description } : {}) },
  })) as RecipientView;
  if (options.json) {
    printJson(answer);
    return;
  }
  console.log(`added ${answer.id}: ${answer.type} ${targetOf(answer)}`);
  if (answer.secret !== undefined) {
    // The API shows a generated secret in this answer only: say so, or it is lost.
    console.log(`secret: ${answer.secret}`);
    console.log('(shown this once: give it to the partner now, over a channel you trust; tocsin never shows it again)');
  }
}

/** `tocsin recipients list`: one line per recipient. */
export async function recipientsList(target: ApiTarget, options: { json?: boolean }): Promise<void> {
  const answer = (await callApi(target, 'GET', '/v1/recipients', { admin: true })) as { recipients: RecipientView[] };
  if (options.json) {
    printJson(answer);
    return;
  }
  if (answer.recipients.length === 0) {
    console.log('no recipients');
    return;
  }
  const rows = [['ID', 'TYPE', 'TARGET', 'CREATED', 'DESCRIPTION']];
  for (const r of answer.recipients) rows.push([r.id, r.type, targetOf(r), r.created_at, r.description ?? '']);
  console.log(table(rows));
}

/** `tocsin recipients show ID`: every field the API shows, one per line. */
export async function recipientsShow(target: ApiTarget, id: string, options: { json?: boolean }): Promise<void> {
  const answer = (await callApi(target, 'GET', `/v1/recipients/${encodeURIComponent(id)}`, { admin: true })) as RecipientView;
  if (options.json) {
    printJson(answer);
    return;
  }
  const rows = Object.entries(answer).map(([field, value]) => [`${field}:`, String(value)]);
  console.log(table(rows));
}

/** `tocsin recipients remove ID`: the API answers 204, so `--json` prints `{id, removed: true}`. */
export async function recipientsRemove(target: ApiTarget, id: string, options: { json?: boolean }): Promise<void> {
  await callApi(target, 'DELETE', `/v1/recipients/${encodeURIComponent(id)}`, { admin: true });
  if (options.json) printJson({ id, removed: true });
  else console.log(`removed ${id}`);
}
