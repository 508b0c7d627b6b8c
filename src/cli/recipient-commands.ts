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
  /** Absent only from an older server's answer. */
  groups?: string[];
  tlp?: string;
  filter?: Record<string, unknown> | null;
  url?: string;
  address?: string;
  channel_id?: string;
  api_url?: string;
  instance_url?: string;
  secret?: string;
  /** `inactive` after too many hard bounces; absent only from an older server's answer. */
  status?: string;
  hard_bounces?: number;
}

/** Who receives what, as `recipients add` and `recipients update` take it: each repeatable option collects a list. */
export interface RoutingOptions {
  group?: string[];
  tlp?: string;
  product?: string[];
  minSeverity?: string;
  kind?: string[];
}

export interface AddOptions extends RoutingOptions {
  description?: string;
  json?: boolean;
}

/** `recipients update`: commander sets `groups` and `filter` false for `--no-groups` and `--no-filter`. */
export interface UpdateOptions extends RoutingOptions {
  groups?: boolean;
  filter?: boolean;
  json?: boolean;
}

/** The filter the options name, or undefined when they name none of its parts. */
function filterOf(options: RoutingOptions): Record<string, unknown> | undefined {
  const filter = {
    ...(options.product ? { products: options.product } : {}),
    ...(options.minSeverity !== undefined ? { min_severity: options.minSeverity } : {}),
    ...(options.kind ? { kinds: options.kind } : {}),
  };
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/** The routing fields of a `POST /v1/recipients` body: only those given, so the server's defaults apply to the rest. */
function routingFields(options: RoutingOptions): Record<string, unknown> {
  const filter = filterOf(options);
  return {
    ...(options.group ? { groups: options.group } : {}),
    ...(options.tlp !== undefined ? { tlp: options.tlp } : {}),
    ...(filter ? { filter } : {}),
  };
}

/**
 * The `PATCH` body: each of groups, tlp and filter that the options name replaces the stored one
 * whole, as the API does; `--no-groups` empties the groups, `--no-filter` removes the filter.
 */
export function routingChanges(options: UpdateOptions): Record<string, unknown> {
  if (options.groups === false && options.group) throw new CliFailure('--group and --no-groups contradict each other: --group alone replaces the groups', 2);
  const filter = filterOf(options);
  if (options.filter === false && filter) throw new CliFailure('--no-filter contradicts --product, --min-severity and --kind: these alone replace the filter', 2);
  const changes = {
    ...routingFields(options),
    ...(options.groups === false ? { groups: [] } : {}),
    ...(options.filter === false ? { filter: null } : {}),
  };
  if (Object.keys(changes).length === 0) {
    throw new CliFailure('nothing to change: say --group, --no-groups, --tlp, --product, --min-severity, --kind or --no-filter', 2);
  }
  return changes;
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

/** One cell for a list: its items, or `-` for none. */
const listCell = (items: readonly unknown[] | undefined) => (items && items.length > 0 ? items.map(String).join(', ') : '-');

/** A field's value on one line: lists joined, a filter as `part: value; ...`, nothing as `-`. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return listCell(value);
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${Array.isArray(v) ? listCell(v) : String(v)}`);
    return parts.length > 0 ? parts.join('; ') : '-';
  }
  return String(value);
}

/** Every field of a recipient, one per line. */
function fieldLines(view: RecipientView): string {
  return table(Object.entries(view).map(([field, value]) => [`${field}:`, cell(value)]));
}

/** `tocsin recipients add TYPE ...`: POST /v1/recipients with the body the type asks for. */
export async function recipientsAdd(target: ApiTarget, body: Record<string, unknown>, options: AddOptions): Promise<void> {
  const answer = (await callApi(target, 'POST', '/v1/recipients', {
    admin: true,
    body: { ...body, ...(options.description !== undefined ? { description: options.description } : {}), ...routingFields(options) },
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

/** `active`, or `inactive(3-bounces)` (one word, like every cell but the description): why an address receives nothing. */
function statusOf(r: RecipientView): string {
  const status = r.status ?? 'active';
  return status === 'inactive' && r.hard_bounces ? `inactive(${r.hard_bounces}-bounces)` : status;
}

/** `tocsin recipients list`: one line per recipient, groups comma-separated (no spaces, so the cell stays one word). */
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
  // New columns go before DESCRIPTION, the one free-text column, which stays last.
  const rows = [['ID', 'TYPE', 'TARGET', 'CREATED', 'TLP', 'GROUPS', 'STATUS', 'DESCRIPTION']];
  for (const r of answer.recipients) {
    rows.push([r.id, r.type, targetOf(r), r.created_at, r.tlp ?? 'CLEAR', (r.groups ?? []).join(',') || '-', statusOf(r), r.description ?? '']);
  }
  console.log(table(rows));
}

/** `tocsin recipients show ID`: every field the API shows, one per line. */
export async function recipientsShow(target: ApiTarget, id: string, options: { json?: boolean }): Promise<void> {
  const answer = (await callApi(target, 'GET', `/v1/recipients/${encodeURIComponent(id)}`, { admin: true })) as RecipientView;
  if (options.json) {
    printJson(answer);
    return;
  }
  console.log(fieldLines(answer));
}

/** `tocsin recipients update ID ...`: PATCH /v1/recipients/ID with the routing fields the options name. */
export async function recipientsUpdate(target: ApiTarget, id: string, options: UpdateOptions): Promise<void> {
  const changes = routingChanges(options);
  const answer = (await callApi(target, 'PATCH', `/v1/recipients/${encodeURIComponent(id)}`, { admin: true, body: changes })) as RecipientView;
  if (options.json) {
    printJson(answer);
    return;
  }
  console.log(`updated ${answer.id}: ${answer.type} ${targetOf(answer)}`);
  console.log(table([['groups:', cell(answer.groups)], ['tlp:', cell(answer.tlp)], ['filter:', cell(answer.filter)]]));
}

/** `tocsin recipients remove ID`: the API answers 204, so `--json` prints `{id, removed: true}`. */
export async function recipientsRemove(target: ApiTarget, id: string, options: { json?: boolean }): Promise<void> {
  await callApi(target, 'DELETE', `/v1/recipients/${encodeURIComponent(id)}`, { admin: true });
  if (options.json) printJson({ id, removed: true });
  else console.log(`removed ${id}`);
}
