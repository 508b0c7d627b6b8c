import type { DeadLetter } from '../delivery/dead-letters';
import type { ReplayOutcome } from '../queue/replay-deliveries';
import { CliFailure } from './commands';

/** Where the admin API is and how to authenticate: the token comes from TOCSIN_ADMIN_TOKEN. */
export interface AdminTarget {
  url: string;
  token: string | undefined;
}

export interface ListOptions {
  advisory?: string;
  revision?: string;
  channel?: string;
  json?: boolean;
}

export interface ReplayOptions extends ListOptions {
  recipient: string[];
  allFailed?: boolean;
}

async function callAdmin(target: AdminTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  if (!target.token) throw new CliFailure('set TOCSIN_ADMIN_TOKEN to the admin API token of the server', 2);
  const endpoint = new URL(path, target.url);
  const response = await fetch(endpoint, {
    method,
    headers: { authorization: `Bearer ${target.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) {
    // The server's error body names the offending fields: show it as it is.
    console.error(text);
    throw new CliFailure(`${method} ${endpoint.href} answered ${response.status}`);
  }
  return JSON.parse(text) as unknown;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** `tocsin deliveries list --failed`: every dead letter, or those of one advisory or channel. */
export async function listFailed(target: AdminTarget, options: ListOptions): Promise<void> {
  const query = new URLSearchParams({ state: 'failed' });
  if (options.advisory !== undefined) query.set('advisory', options.advisory);
  if (options.revision !== undefined) query.set('revision', options.revision);
  if (options.channel !== undefined) query.set('channel', options.channel);
  const answer = (await callAdmin(target, 'GET', `/v1/deliveries?${query.toString()}`)) as { deliveries: DeadLetter[] };
  if (options.json) {
    console.log(JSON.stringify(answer, null, 2));
    return;
  }
  if (answer.deliveries.length === 0) {
    console.log('no failed deliveries');
    return;
  }
  const rows = [['ADVISORY', 'REV', 'CHANNEL', 'RECIPIENT', 'ATTEMPTS', 'REPLAYS', 'FAILED AT', 'LAST ERROR']];
  for (const d of answer.deliveries) {
    rows.push([d.advisory, String(d.revision), d.channel, d.recipient, String(d.attempts), String(d.replays ?? 0), d.updated_at, d.last_error ?? '']);
  }
  console.log(table(rows));
}

/** `tocsin deliveries replay`: a fresh retry schedule for failed deliveries, same notice ids. */
export async function replayFailed(target: AdminTarget, options: ReplayOptions): Promise<void> {
  if (Boolean(options.allFailed) === (options.advisory !== undefined)) {
    throw new CliFailure('say either --advisory ID (optionally --revision, --recipient) or --all-failed', 2);
  }
  if (options.advisory === undefined && (options.revision !== undefined || options.recipient.length > 0)) {
    throw new CliFailure('--revision and --recipient need --advisory', 2);
  }
  let revision: number | undefined;
  if (options.revision !== undefined) {
    revision = Number(options.revision);
    if (!Number.isInteger(revision) || revision < 1) throw new CliFailure(`--revision must be a positive integer (got ${options.revision})`, 2);
  }
  const body = {
    ...(options.allFailed ? { all_failed: true } : { advisory: options.advisory }),
    ...(revision !== undefined ? { revision } : {}),
    ...(options.channel !== undefined ? { channel: options.channel } : {}),
    ...(options.recipient.length > 0 ? { recipients: options.recipient } : {}),
  };
  const outcome = (await callAdmin(target, 'POST', '/v1/deliveries/replay', body)) as ReplayOutcome;
  if (options.json) {
    console.log(JSON.stringify(outcome, null, 2));
    return;
  }
  console.log(`replayed ${outcome.replayed.length} deliver${outcome.replayed.length === 1 ? 'y' : 'ies'}`);
  for (const r of outcome.replayed) console.log(`  ${r.advisory} revision ${r.revision} ${r.channel} ${r.recipient} (replay ${r.replay})`);
  for (const s of outcome.skipped) console.log(`skipped ${s.advisory} revision ${s.revision} ${s.channel} ${s.recipient}: ${s.reason}`);
}
