import { readCell, readList, writeCell, writeList } from './csv-records';
import type { Recipient } from './recipient';

/**
 * The columns a CSV import may name in its header row: the fields of a `POST /v1/recipients`
 * body, a filter's parts as `filter.products` and so on. Lists (`groups`, `filter.products`,
 * `filter.kinds`) are written `a;b`. An empty cell is a field left out.
 */
export const CSV_COLUMNS = [
  'type',
  'url',
  'secret',
  'address',
  'consent_confirmed',
  'channel_id',
  'token',
  'api_url',
  'instance_url',
  'access_token',
  'description',
  'groups',
  'tlp',
  'filter.products',
  'filter.min_severity',
  'filter.kinds',
] as const;
type Column = (typeof CSV_COLUMNS)[number];

const LIST_COLUMNS = new Set<Column>(['groups', 'filter.products', 'filter.kinds']);
const SECRET_COLUMNS = new Set<Column>(['secret', 'token', 'access_token']);

/** What an export writes: every column but the secrets. */
export const EXPORT_CSV_COLUMNS = CSV_COLUMNS.filter((c) => !SECRET_COLUMNS.has(c));

/** Why a header row cannot be read, naming the column; null when it can. */
export function csvHeaderProblem(header: readonly string[]): { field: string; message: string } | null {
  const seen = new Set<string>();
  for (const name of header) {
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) return { field: name || '(empty column name)', message: `unknown column: the header names fields among ${CSV_COLUMNS.join(', ')}` };
    if (seen.has(name)) return { field: name, message: 'named twice in the header' };
    seen.add(name);
  }
  if (!seen.has('type')) return { field: 'type', message: 'the header must name a type column' };
  return null;
}

/** A row as the body it stands for: the same object an NDJSON line would hold. */
export function rowToBody(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const filter: Record<string, unknown> = {};
  header.forEach((column, i) => {
    const raw = cells[i] ?? '';
    if (raw === '') return;
    const text = readCell(raw);
    let value: unknown = LIST_COLUMNS.has(column as Column) ? readList(text) : text;
    if (column === 'consent_confirmed') value = text === 'true' ? true : text === 'false' ? false : text;
    if (column.startsWith('filter.')) filter[column.slice('filter.'.length)] = value;
    else body[column] = value;
  });
  if (Object.keys(filter).length > 0) body.filter = filter;
  return body;
}

/** The fields that say where a recipient's notices go, per channel: an export keeps these. */
const LOCATION_FIELDS: Record<Recipient['type'], readonly string[]> = {
  webhook: ['url'],
  email: ['address'],
  slack: ['channel_id', 'api_url'],
  mastodon: ['instance_url'],
};

/**
 * A recipient as the API shows it (secrets already left out), as an import line: without its
 * id and creation time, which an import does not take. Importing it again updates the recipient
 * it came from, whose secrets stay.
 */
export function exportBody(view: { type: Recipient['type'] } & Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { type: view.type };
  for (const field of LOCATION_FIELDS[view.type]) if (view[field] !== undefined) body[field] = view[field];
  // Every stored email recipient is confirmed (see consentConfirmed in recipient.ts).
  if (view.type === 'email') body.consent_confirmed = true;
  if (typeof view.description === 'string') body.description = view.description;
  body.groups = view.groups ?? [];
  body.tlp = view.tlp ?? 'CLEAR';
  if (view.filter !== null && view.filter !== undefined) body.filter = view.filter;
  return body;
}

/** One CSV row of {@link EXPORT_CSV_COLUMNS} for an export body. */
export function bodyToRow(body: Record<string, unknown>): string {
  const filter = (body.filter ?? {}) as Record<string, unknown>;
  return EXPORT_CSV_COLUMNS.map((column) => {
    const value = column.startsWith('filter.') ? filter[column.slice('filter.'.length)] : body[column];
    if (value === undefined || value === null) return '';
    if (Array.isArray(value)) return writeCell(writeList(value.map(String)));
    return writeCell(String(value));
  }).join(',');
}
