import type { AdvisoryRecord } from '../advisory/record';
import { channelNames, type ChannelName } from '../channels/channel-names';
import type { DeliveryFailure } from '../channels/delivery-failure';
import type { RecipientStates } from '../delivery/delivery-status';
import type { Audience } from '../storage/advisory-archive';
import type { DrillAckRecord } from '../storage/drill-ack-store';

/** One recipient's delivery, in milliseconds from the drill's acceptance. */
export interface DrillTiming {
  recipient: string;
  ms: number;
}

/** What one channel's part of a drill came to. */
export interface ChannelDrillReport {
  recipients: number;
  delivered: number;
  failed: number;
  /** Not final yet: pending or retrying. */
  retrying: number;
  /** Acceptance to the first, median, 95th-percentile (nearest rank) and last delivery; null before any. */
  first_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  last_ms: number | null;
  /** The ten slowest deliveries, slowest first. */
  slowest: DrillTiming[];
  /** Every failed delivery, with the peer's answer (`410`, `550`, a Slack error code) or what kept it from answering. */
  failures: { recipient: string; reason: string }[];
  /** Every delivery's time, earliest first: what the report page's timeline draws. */
  timeline: DrillTiming[];
}

/** Who confirmed receipt, and when (RFC 3339): a webhook by its 2xx, email and Slack by the notice's link. */
export interface DrillAck {
  recipient: string;
  at: string;
}

/** `GET /v1/drills/:id`. */
export interface DrillReport {
  id: string;
  started_at: string;
  channels: Partial<Record<ChannelName, ChannelDrillReport>>;
  acks: Partial<Record<ChannelName, DrillAck[]>>;
}

/** The peer's own answer where there is one, else what kept it from answering (`timed_out`, `connection_refused`). */
export function failureReason(failure: DeliveryFailure | undefined): string {
  if (!failure) return 'unclassified';
  switch (failure.kind) {
    case 'http_status':
    case 'redirect':
      return String(failure.status);
    case 'rate_limited':
      return failure.status === undefined ? 'rate_limited' : String(failure.status);
    case 'mail_rejected':
      return failure.code === undefined ? 'mail_rejected' : String(failure.code);
    case 'platform_error':
      return failure.code;
    default:
      return failure.kind;
  }
}

/** Nearest rank: the smallest value with at least `p` of the values at or below it. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * A drill's report from what its deliveries came to (the durable receipts, folded with Redis by
 * delivery/dead-letters.ts `loadRevisionView`). Times are from the drill's acceptance: what a
 * recipient waits on the real day. Only channels with recipients appear.
 */
export function drillReport(
  record: AdvisoryRecord,
  audience: Audience,
  states: ReadonlyMap<ChannelName, RecipientStates>,
  linkAcks: readonly DrillAckRecord[] = [],
): DrillReport {
  const start = Date.parse(record.accepted_at);
  const channels: DrillReport['channels'] = {};
  const acks: DrillReport['acks'] = {};
  for (const channel of channelNames) {
    const ids = audience[channel] ?? [];
    if (ids.length === 0) continue;
    const timeline: DrillTiming[] = [];
    const failures: ChannelDrillReport['failures'] = [];
    let retrying = 0;
    for (const recipient of ids) {
      const s = states.get(channel)?.get(recipient);
      if (s?.state === 'delivered') timeline.push({ recipient, ms: Math.max(0, Date.parse(s.updated_at) - start) });
      else if (s?.state === 'failed') failures.push({ recipient, reason: failureReason(s.failure) });
      else retrying += 1;
    }
    timeline.sort((a, b) => a.ms - b.ms || a.recipient.localeCompare(b.recipient));
    const times = timeline.map((t) => t.ms);
    channels[channel] = {
      recipients: ids.length,
      delivered: timeline.length,
      failed: failures.length,
      retrying,
      first_ms: times[0] ?? null,
      p50_ms: percentile(times, 0.5),
      p95_ms: percentile(times, 0.95),
      last_ms: times.at(-1) ?? null,
      slowest: timeline.slice().reverse().slice(0, 10),
      failures,
      timeline,
    };
    // A webhook's 2xx is its acknowledgement: the partner's server took the notice.
    if (channel === 'webhook') acks.webhook = timeline.map((t) => ({ recipient: t.recipient, at: new Date(start + t.ms).toISOString() }));
    // Email and Slack: a person used the link the notice carried (drills/drill-ack-key.ts).
    if (channel === 'email' || channel === 'slack') {
      const inAudience = new Set(ids);
      acks[channel] = linkAcks.filter((a) => a.channel === channel && inAudience.has(a.recipient)).map((a) => ({ recipient: a.recipient, at: a.at }));
    }
  }
  return { id: record.id, started_at: record.accepted_at, channels, acks };
}
