import { request } from 'undici';
import { wallClockMs } from './wall-clock';

/** 100,000 lines are checked and written in a few seconds; a busy machine gets ample room. */
const IMPORT_TIMEOUT_MS = 5 * 60_000;

/**
 * Enrols every recipient by one bulk import (`POST /v1/recipients/import`, NDJSON), as an operator
 * moving a list would; each line is a `POST /v1/recipients` body (with a webhook's `secret`, an
 * email's `consent_confirmed`). Resolves to the seconds the import took; any refused line fails it.
 */
export async function enrolRecipients(apiUrl: string, adminToken: string, lines: readonly object[]): Promise<number> {
  const body = lines.map((line) => `${JSON.stringify(line)}\n`).join('');
  const started = wallClockMs();
  const res = await request(`${apiUrl}/v1/recipients/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${adminToken}` },
    body,
    headersTimeout: IMPORT_TIMEOUT_MS,
    bodyTimeout: IMPORT_TIMEOUT_MS,
  });
  const text = await res.body.text();
  const seconds = (wallClockMs() - started) / 1000;
  const imported = res.statusCode === 200 ? (JSON.parse(text) as { imported: number }).imported : null;
  if (imported !== lines.length) throw new Error(`importing ${lines.length} recipients: HTTP ${res.statusCode} ${text.slice(0, 2_000)}`);
  return seconds;
}
