import type { DeadLetter } from '../delivery/dead-letters';
import type { ReplayOutcome } from '../queue/replay-deliveries';
import { callApi } from './api-client';
import type { DeliveriesAnswer } from './broadcast-progress';
import { concludeBroadcast, untilInterrupted, watchBroadcast } from './broadcast-watch';
import { printJson, table } from './cli-output';
import { CliFailure } from './commands';
import { createProgressDisplay } from './progress-display';

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

/** The admin view of `GET /v1/advisories/:id/deliveries`: every state with its time and the peer's answer. */
type AdminDeliveriesAnswer = Omit<DeliveriesAnswer, 'deliveries'> & {
  deliveries: (DeliveriesAnswer['deliveries'][number] & { updated_at?: string; detail?: string })[];
};

export interface WatchOptions {
  revision?: number;
  /** The signed document's SHA-256 (lower-case hex): opens the read of a revision that is not public. */
  sha256?: string;
  json?: boolean;
  /** Off a terminal, a progress line at most this often. */
  lineEveryMs: number;
}

function callAdmin(target: AdminTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  return callApi(target, method, path, { admin: true, ...(body !== undefined ? { body } : {}) });
}

/** `tocsin deliveries list --failed`: every dead letter, or those of one advisory or channel. */
export async function listFailed(target: AdminTarget, options: ListOptions): Promise<void> {
  const query = new URLSearchParams({ state: 'failed' });
  if (options.advisory !== undefined) query.set('advisory', options.advisory);
  if (options.revision !== undefined) query.set('revision', options.revision);
  if (options.channel !== undefined) query.set('channel', options.channel);
  const answer = (await callAdmin(target, 'GET', `/v1/deliveries?${query.toString()}`)) as { deliveries: DeadLetter[] };
  if (options.json) {
    printJson(answer);
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

/**
 * `tocsin deliveries list --advisory ID`: every recipient's delivery of one revision, whatever its
 * state, as the receipts record it (admin read: the peer's answer and the full error text).
 */
export async function listDeliveries(target: AdminTarget, options: ListOptions & { advisory: string }): Promise<void> {
  let query = '';
  if (options.revision !== undefined) {
    const revision = Number(options.revision);
    if (!Number.isInteger(revision) || revision < 1) throw new CliFailure(`--revision must be a positive integer (got ${options.revision})`, 2);
    query = `?revision=${revision}`;
  }
  const answer = (await callAdmin(target, 'GET', `/v1/advisories/${encodeURIComponent(options.advisory)}/deliveries${query}`)) as AdminDeliveriesAnswer;
  if (options.json) {
    printJson(answer);
    return;
  }
  const { summary } = answer;
  console.log(`${answer.id} revision ${answer.revision}: ${summary.delivered} delivered, ${summary.failed} failed, ${summary.retrying} retrying, ${summary.pending} pending`);
  if (answer.deliveries.length === 0) return;
  const rows = [['CHANNEL', 'RECIPIENT', 'STATE', 'ATTEMPTS', 'AT', 'ANSWER']];
  for (const d of answer.deliveries) {
    rows.push([d.channel, d.recipient, d.state, String(d.attempts), d.updated_at ?? '', d.state === 'delivered' ? (d.detail ?? '') : (d.last_error ?? '')]);
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
    printJson(outcome);
    return;
  }
  console.log(`replayed ${outcome.replayed.length} deliver${outcome.replayed.length === 1 ? 'y' : 'ies'}`);
  for (const r of outcome.replayed) console.log(`  ${r.advisory} revision ${r.revision} ${r.channel} ${r.recipient} (replay ${r.replay})`);
  for (const s of outcome.skipped) console.log(`skipped ${s.advisory} revision ${s.revision} ${s.channel} ${s.recipient}: ${s.reason}`);
}

/**
 * `tocsin deliveries watch ID [--revision N] [--sha256 HEX]`: the live progress `publish --wait`
 * shows, for an advisory already sent: the public read (with `--sha256`, also of a revision not
 * yet public), or with TOCSIN_ADMIN_TOKEN set the admin view, which also shows recipients
 * `scheduled` for an embargo's end. Exit 0 when all were delivered, 3 otherwise.
 */
export async function watchDeliveries(target: { url: string; token?: string | undefined }, id: string, options: WatchOptions): Promise<void> {
  const { url } = target;
  let revision = options.revision;
  if (revision === undefined) {
    // The latest revision, as the API picks it when none is named.
    // With the document's digest, so that a revision not yet public is found too.
    const proof = options.sha256 !== undefined ? `?sha256=${options.sha256}` : '';
    const latest = (await callApi(target, 'GET', `/v1/advisories/${encodeURIComponent(id)}/deliveries${proof}`, { admin: Boolean(target.token) })) as DeliveriesAnswer;
    revision = latest.revision;
  }
  const ref = { id, revision };
  const out = options.json ? process.stderr : process.stdout;
  const final = await untilInterrupted((interrupt) =>
    watchBroadcast({ url, token: target.token }, ref, { display: createProgressDisplay(out, options.lineEveryMs), lineEveryMs: options.lineEveryMs, interrupt, sha256: options.sha256 }),
  );
  if (options.json) printJson(final);
  const done = concludeBroadcast(final);
  if (!options.json) console.log(done);
}
