import type { ChannelName } from '../channels/channel-names';
import type { DeliveryStatus } from '../delivery/delivery-status';

/** How many deliveries of a revision are in each state. */
export interface DeliveryCounts {
  pending: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/** The fields of `GET /v1/advisories/:id/deliveries` that the progress display reads. */
export interface DeliveriesAnswer {
  id: string;
  revision: number;
  view: 'public' | 'admin';
  summary: DeliveryCounts;
  summary_by_channel: Partial<Record<ChannelName, DeliveryCounts>>;
  deliveries: { recipient: string; channel: ChannelName; state: DeliveryStatus; attempts: number; last_error?: string; next_attempt_at?: string }[];
  /** Admin view, under an embargo: the recipients held back until `release_at`. Not deliveries yet: the wait does not wait for them. */
  scheduled?: ScheduledAnswer;
}

/** The `scheduled` part of the admin deliveries answer. */
export interface ScheduledAnswer {
  release_at: string;
  count: number;
  by_channel: Partial<Record<ChannelName, number>>;
}

/** What the rate is measured from: when watching began and what was already done then. */
export interface ProgressStart {
  at: number;
  done: Partial<Record<ChannelName, number>>;
}

export function totalOf(c: DeliveryCounts): number {
  return c.pending + c.delivered + c.retrying + c.failed;
}

/** First attempts made: delivered, failed, or waiting for a retry. */
function doneOf(c: DeliveryCounts): number {
  return c.delivered + c.retrying + c.failed;
}

/** Watching ends once no first attempt is left: every delivery delivered, failed, or waiting for a retry. */
export function firstAttemptsDone(answer: DeliveriesAnswer): boolean {
  return answer.summary.pending === 0;
}

export function progressStart(answer: DeliveriesAnswer, at: number): ProgressStart {
  const done: ProgressStart['done'] = {};
  for (const [channel, counts] of channelCounts(answer)) done[channel] = doneOf(counts);
  return { at, done };
}

/** `m:ss`, or `h:mm:ss` past an hour. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mmss = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}

function channelCounts(answer: DeliveriesAnswer): [ChannelName, DeliveryCounts][] {
  return Object.entries(answer.summary_by_channel) as [ChannelName, DeliveryCounts][];
}

/** First attempts per second since watching began; the first second counts as a whole one. */
function rateOf(channel: ChannelName, counts: DeliveryCounts, start: ProgressStart, now: number): string {
  const seconds = Math.max(1, (now - start.at) / 1000);
  return `${((doneOf(counts) - (start.done[channel] ?? 0)) / seconds).toFixed(1)}/s`;
}

function countsText(counts: DeliveryCounts): string {
  return `${counts.delivered}/${totalOf(counts)} delivered, ${counts.retrying} retrying, ${counts.failed} failed, ${counts.pending} pending`;
}

/** `N scheduled for <time>` under an embargo, per channel when `channel` is given; empty otherwise. */
export function scheduledText(answer: DeliveriesAnswer, channel?: ChannelName): string {
  const s = answer.scheduled;
  const n = s ? (channel ? (s.by_channel[channel] ?? 0) : s.count) : 0;
  return s && n > 0 ? `${n} scheduled for ${s.release_at} (embargo)` : '';
}

/** The channels with deliveries or recipients held back by an embargo. */
function shownChannels(answer: DeliveriesAnswer): [ChannelName, DeliveryCounts][] {
  const channels = channelCounts(answer);
  for (const c of Object.keys(answer.scheduled?.by_channel ?? {}) as ChannelName[]) {
    if (!channels.some(([name]) => name === c)) channels.push([c, { pending: 0, delivered: 0, retrying: 0, failed: 0 }]);
  }
  return channels;
}

/** For a terminal, redrawn in place: a heading, then one line per channel. */
export function progressFrame(answer: DeliveriesAnswer, start: ProgressStart, now: number): string[] {
  const channels = shownChannels(answer);
  const width = Math.max(8, ...channels.map(([c]) => c.length));
  const line = (c: ChannelName, counts: DeliveryCounts) => [`  ${c.padEnd(width)}  ${countsText(counts)}  ${rateOf(c, counts, start, now)}`, scheduledText(answer, c)].filter(Boolean).join(', ');
  return [
    `${answer.id} revision ${answer.revision}, ${formatElapsed(now - start.at)} elapsed`,
    ...(channels.length === 0 ? ['  no recipients'] : channels.map(([c, counts]) => line(c, counts))),
  ];
}

/** For a log or a pipe, written every few seconds: the same on one line. */
export function progressLine(answer: DeliveriesAnswer, start: ProgressStart, now: number): string {
  const channels = shownChannels(answer);
  const parts = channels.length === 0 ? ['no recipients'] : channels.map(([c, counts]) => [`${c} ${countsText(counts)} (${rateOf(c, counts, start, now)})`, scheduledText(answer, c)].filter(Boolean).join(', '));
  return `[${formatElapsed(now - start.at)}] ${answer.id} revision ${answer.revision}: ${parts.join('; ')}`;
}

/**
 * Moves the cursor up over the lines drawn last time and writes the new ones over them, each line
 * cleared first: a shorter line must not leave the end of a longer one behind.
 */
export function redraw(previousLineCount: number, lines: readonly string[]): string {
  const up = previousLineCount > 0 ? `\x1b[${previousLineCount}F` : '';
  return `${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`;
}

/** Each delivery not delivered, one line each, naming the recipient, its state and why. */
export function undelivered(answer: DeliveriesAnswer): string[] {
  return answer.deliveries
    .filter((d) => d.state !== 'delivered')
    .map((d) => {
      const next = d.state === 'retrying' && d.next_attempt_at ? `, next attempt ${d.next_attempt_at}` : '';
      const why = d.last_error ? `: ${d.last_error}` : '';
      return `  ${d.recipient}  ${d.channel}  ${d.state} after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${next}${why}`;
    });
}
