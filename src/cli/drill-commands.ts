import type { ChannelDrillReport, DrillReport } from '../drills/drill-report';
import { channelNames } from '../channels/channel-names';
import { callApi, type ApiTarget } from './api-client';
import { concludeBroadcast, untilInterrupted, watchBroadcast } from './broadcast-watch';
import { printJson, table } from './cli-output';
import { CliFailure } from './commands';
import { createProgressDisplay } from './progress-display';

export interface DrillOptions {
  /** Comma-separated channel names, e.g. `webhook,email`. */
  channels?: string;
  group?: string;
  wait?: boolean;
  json?: boolean;
  /** Off a terminal, a progress line at most this often. */
  lineEveryMs: number;
}

/** `--channels webhook,email` as the API's list, refused here (exit 2) when it names no channel tocsin has. */
export function parseChannels(value: string): string[] {
  const list = value.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const unknown = list.filter((c) => !(channelNames as readonly string[]).includes(c));
  if (list.length === 0 || unknown.length > 0) throw new CliFailure(`--channels takes a comma-separated list of ${channelNames.join(', ')} (got ${value})`, 2);
  return list;
}

const ms = (v: number | null) => (v === null ? '-' : `${v}`);

/** The report as a table per channel, then each failure and the slowest, for a terminal. */
export function printReport(report: DrillReport): void {
  console.log(`drill ${report.id}, started ${report.started_at}`);
  const rows = [['CHANNEL', 'RECIPIENTS', 'DELIVERED', 'FAILED', 'RETRYING', 'FIRST MS', 'P50 MS', 'P95 MS', 'LAST MS', 'ACKS']];
  const entries = Object.entries(report.channels) as [string, ChannelDrillReport][];
  for (const [channel, c] of entries) {
    const acks = (report.acks as Record<string, unknown[] | undefined>)[channel]?.length ?? 0;
    rows.push([channel, `${c.recipients}`, `${c.delivered}`, `${c.failed}`, `${c.retrying}`, ms(c.first_ms), ms(c.p50_ms), ms(c.p95_ms), ms(c.last_ms), `${acks}`]);
  }
  console.log(table(rows));
  for (const [channel, c] of entries) for (const f of c.failures) console.log(`failed: ${channel} ${f.recipient}: ${f.reason}`);
}

/** `tocsin drill`: starts a drill; with `--wait`, follows it to the end and prints its report. */
export async function startDrill(target: ApiTarget, options: DrillOptions): Promise<void> {
  const body = { ...(options.channels !== undefined ? { channels: parseChannels(options.channels) } : {}), ...(options.group !== undefined ? { group: options.group } : {}) };
  const started = (await callApi(target, 'POST', '/v1/drills', { admin: true, body })) as { id: string };
  if (!options.wait) {
    if (options.json) printJson(started);
    else console.log(`drill ${started.id} started; its report: tocsin drill show ${started.id}`);
    return;
  }
  const out = options.json ? process.stderr : process.stdout;
  out.write(`drill ${started.id} started\n`);
  const final = await untilInterrupted((interrupt) =>
    watchBroadcast(target, { id: started.id, revision: 1 }, { display: createProgressDisplay(out, options.lineEveryMs), lineEveryMs: options.lineEveryMs, interrupt }),
  );
  const report = (await callApi(target, 'GET', `/v1/drills/${encodeURIComponent(started.id)}`, { admin: true })) as DrillReport;
  if (options.json) printJson(report);
  else printReport(report);
  // Exit 3 when any delivery failed or still waits: a drill is for finding exactly that.
  const done = concludeBroadcast(final);
  if (!options.json) console.log(done);
}

/** `tocsin drill show ID`. */
export async function showDrill(target: ApiTarget, id: string, options: { json?: boolean }): Promise<void> {
  const report = (await callApi(target, 'GET', `/v1/drills/${encodeURIComponent(id)}`, { admin: true })) as DrillReport;
  if (options.json) printJson(report);
  else printReport(report);
}
