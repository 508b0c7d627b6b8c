import type { AdvisoryRecord } from '../advisory/record';
import { severities } from '../advisory/schema';
import { channelNames, type ChannelName } from '../channels/channel-names';
import type { FailureReason } from '../delivery/delivery-outcome';
import type { DeliveryQueues } from '../queue/delivery-queues';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import { publicView } from '../release/public-view';
import type { ChannelTally, DeliveryTally, RevisionTally } from './delivery-tally';
import { lastDeliveriesOf, type LastDeliveries } from '../drills/channel-freshness';
import { formatPrometheus, type MetricFamily, type Sample } from './prometheus-text';

export interface MetricsDeps {
  archive: Pick<AdvisoryArchive, 'records'>;
  /** The delivery numbers, counted from the durable receipts. */
  tally: DeliveryTally;
  queues: DeliveryQueues;
  /** How many of the most recently accepted revisions get first/last delivery gauges. Default 20. */
  recentRevisions?: number;
  /** Longest wait for Redis before answering without its numbers. Default 2000 ms. */
  redisTimeoutMs?: number;
  /** Tocsin's clock, which decides when an embargo ends. Default: the system clock. */
  now?: () => Date;
}

/** BullMQ job states worth watching; a job is a batch of up to TOCSIN_FANOUT_BATCH_SIZE recipients or one retry. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
const KINDS = ['advisory', 'mitigation'] as const;
const FAILURE_REASONS: readonly FailureReason[] = ['permanent', 'attempts_exhausted', 'recipient_removed'];

type QueueCounts = Map<ChannelName, Record<string, number>>;

/**
 * Builds the /metrics page at scrape time from where each number truly lives: accepted advisories
 * from the durable archive, delivery counts and first/last delivery times from the durable
 * receipts beside it (both exact, and unchanged by a Redis that lost its data), queue depth from
 * BullMQ. When Redis does not answer, the durable numbers are still served, with
 * `tocsin_metrics_redis_up 0`, so a scrape never fails for a Redis outage that /readyz reports.
 */
export function createMetricsCollector(deps: MetricsDeps): () => Promise<string> {
  const recent = deps.recentRevisions ?? 20;
  const timeoutMs = deps.redisTimeoutMs ?? 2_000;

  async function readQueues(): Promise<QueueCounts> {
    return new Map(await Promise.all(channelNames.map(async (c) => [c, await deps.queues[c].getJobCounts(...QUEUE_STATES)] as const)));
  }

  return async () => {
    const records = await deps.archive.records();
    // Labels name public revisions only: an id under embargo or above TLP:CLEAR must not reach a
    // dashboard before the public may know it.
    const view = publicView(records, (deps.now ?? (() => new Date()))());
    let timer: NodeJS.Timeout | undefined;
    const [tallies, queueCounts] = await Promise.all([
      deps.tally.of(records),
      Promise.race([readQueues(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))])
        .catch(() => null)
        .finally(() => clearTimeout(timer)),
    ]);
    // records() is oldest acceptance first.
    const latest = records
      .map((record, i) => ({ record, tally: tallies[i]! }))
      .filter(({ record }) => view.isPublic(record))
      .slice(-recent);

    const families: MetricFamily[] = [accepted(records)];
    families.push({
      name: 'tocsin_metrics_redis_up',
      help: 'Whether Redis answered this scrape (1) or not (0): without it the queue metrics are left out.',
      type: 'gauge',
      samples: [{ value: queueCounts ? 1 : 0 }],
    });
    families.push(...deliveries(tallies));
    if (queueCounts) families.push(...queueDepth(queueCounts));
    families.push(...latency(latest));
    families.push(channelFreshness(lastDeliveriesOf(tallies)));
    return formatPrometheus(families);
  };
}

/** A channel that never delivered has no sample: alert on its absence, or on /readyz's warning. */
function channelFreshness(last: LastDeliveries): MetricFamily {
  return {
    name: 'tocsin_channel_last_success_timestamp_seconds',
    help: 'When each channel last delivered successfully, drill or real (Unix time): a channel that goes quiet is one that may fail on the day.',
    type: 'gauge',
    samples: channelNames.flatMap((channel) => (last[channel] === null ? [] : [{ labels: { channel }, value: last[channel] / 1000 }])),
  };
}

function accepted(records: readonly AdvisoryRecord[]): MetricFamily {
  const counts = new Map<string, number>();
  for (const kind of KINDS) for (const severity of severities) counts.set(`${kind}/${severity}`, 0);
  for (const r of records) {
    // An incident's status update is not an advisory: counted here it would read as a "none"
    // advisory. A drill is a rehearsal, never counted as one.
    if (r.kind === 'status' || r.kind === 'drill') continue;
    counts.set(`${r.kind}/${r.severity}`, (counts.get(`${r.kind}/${r.severity}`) ?? 0) + 1);
  }
  return {
    name: 'tocsin_advisories_accepted_total',
    help: 'Advisory revisions accepted and archived, counted from the durable archive.',
    type: 'counter',
    samples: [...counts].map(([key, value]) => {
      const [kind = '', severity = ''] = key.split('/');
      return { labels: { kind, severity }, value };
    }),
  };
}

function deliveries(tallies: readonly RevisionTally[]): MetricFamily[] {
  const sum = (channel: ChannelName, of: (t: ChannelTally) => number) => tallies.reduce((n, t) => n + (t.get(channel) ? of(t.get(channel)!) : 0), 0);
  const failed = (t: ChannelTally) => FAILURE_REASONS.reduce((n, reason) => n + t.failed[reason], 0);
  return [
    {
      name: 'tocsin_deliveries_total',
      help: 'Deliveries that reached a final state, by channel and outcome (delivered or failed).',
      type: 'counter',
      samples: channelNames.flatMap((channel) => [
        { labels: { channel, outcome: 'delivered' }, value: sum(channel, (t) => t.delivered) },
        { labels: { channel, outcome: 'failed' }, value: sum(channel, failed) },
      ]),
    },
    {
      name: 'tocsin_delivery_failures_total',
      help: 'Deliveries given up, by channel and reason: permanent (e.g. HTTP 410, invalid token), attempts_exhausted, recipient_removed.',
      type: 'counter',
      samples: channelNames.flatMap((channel) => FAILURE_REASONS.map((reason) => ({ labels: { channel, reason }, value: sum(channel, (t) => t.failed[reason]) }))),
    },
    {
      name: 'tocsin_delivery_retries_total',
      help: 'Failed delivery attempts for which a retry was scheduled, by channel.',
      type: 'counter',
      samples: channelNames.map((channel) => ({ labels: { channel }, value: sum(channel, (t) => t.retries) })),
    },
  ];
}

function queueDepth(queueCounts: QueueCounts): MetricFamily[] {
  return [
    {
      name: 'tocsin_queue_jobs',
      help: 'Jobs in each channel queue by BullMQ state. A batch job holds up to TOCSIN_FANOUT_BATCH_SIZE recipients; a retry job holds one.',
      type: 'gauge',
      samples: channelNames.flatMap((channel) => QUEUE_STATES.map((state) => ({ labels: { channel, state }, value: queueCounts.get(channel)?.[state] ?? 0 }))),
    },
  ];
}

/**
 * Time from acceptance to the first and to the latest successful delivery, as one gauge per recent
 * revision and channel rather than a histogram. Emergency advisories are few (a handful a month),
 * and the operator's question is about one of them: "how long did the last advisory take to reach
 * everyone on Slack?". A histogram would blur that into buckets over months, and could not hold
 * "last delivery" at all, since it keeps moving while retries succeed (an observation cannot be
 * taken back). The label set stays bounded: only the `recentRevisions` latest public revisions
 * appear, whose ids are public anyway (GET /v1/advisories lists them); a revision under embargo
 * or above TLP:CLEAR gets its gauges once it is public, if ever.
 */
function latency(latest: readonly { record: AdvisoryRecord; tally: RevisionTally }[]): MetricFamily[] {
  const gauge = (at: (t: ChannelTally) => number | undefined): Sample[] =>
    channelNames.flatMap((channel) =>
      latest.flatMap(({ record, tally }) => {
        const t = tally.get(channel);
        const when = t ? at(t) : undefined;
        if (when === undefined) return [];
        const seconds = (when - Date.parse(record.accepted_at)) / 1000;
        return [{ labels: { channel, advisory: record.id, revision: String(record.revision) }, value: seconds }];
      }),
    );
  return [
    {
      name: 'tocsin_first_delivery_seconds',
      help: 'Seconds from acceptance to the first successful delivery, per channel, for the most recently accepted revisions.',
      type: 'gauge',
      samples: gauge((t) => t.firstDeliveredAt),
    },
    {
      name: 'tocsin_last_delivery_seconds',
      help: 'Seconds from acceptance to the latest successful delivery so far (final once every recipient is delivered or failed), per channel, for the most recently accepted revisions.',
      type: 'gauge',
      samples: gauge((t) => t.lastDeliveredAt),
    },
  ];
}
