import type { Redis } from 'ioredis';
import type { AdvisoryRecord } from '../advisory/record';
import { severities } from '../advisory/schema';
import { channelNames, type ChannelName } from '../channels/channel-names';
import type { FailureReason } from '../delivery/delivery-outcome';
import type { DeliveryQueues } from '../queue/delivery-queues';
import { redisKeys } from '../queue/redis-keys';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import { publicView } from '../release/public-view';
import { counterField, revisionMember } from './delivery-metrics';
import { readLastDeliveries, type LastDeliveries } from '../drills/channel-freshness';
import { formatPrometheus, type MetricFamily, type Sample } from './prometheus-text';

export interface MetricsDeps {
  archive: Pick<AdvisoryArchive, 'records'>;
  redis: Redis;
  queues: DeliveryQueues;
  prefix: string;
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

interface RedisNumbers {
  counters: Record<string, string>;
  queueCounts: Map<ChannelName, Record<string, number>>;
  first: Map<ChannelName, (string | null)[]>;
  last: Map<ChannelName, (string | null)[]>;
  /** Each channel's latest successful delivery of any revision, drill or real. */
  channelLast: LastDeliveries;
}

/**
 * Builds the /metrics page at scrape time from where each number truly lives: accepted advisories
 * from the durable archive (exact, and it survives a Redis that lost its data), delivery counters
 * and first/last delivery times from Redis (written by every worker process), queue depth from
 * BullMQ. When Redis does not answer, the archive's numbers are still served, with
 * `tocsin_metrics_redis_up 0`, so a scrape never fails for a Redis outage that /readyz reports.
 */
export function createMetricsCollector(deps: MetricsDeps): () => Promise<string> {
  const keys = redisKeys(deps.prefix);
  const recent = deps.recentRevisions ?? 20;
  const timeoutMs = deps.redisTimeoutMs ?? 2_000;

  async function readRedis(latest: readonly AdvisoryRecord[]): Promise<RedisNumbers> {
    const members = latest.map(revisionMember);
    const [counters, queueCounts, first, last, channelLast] = await Promise.all([
      deps.redis.hgetall(keys.metricsDeliveries),
      Promise.all(channelNames.map(async (c) => [c, await deps.queues[c].getJobCounts(...QUEUE_STATES)] as const)),
      Promise.all(channelNames.map(async (c) => [c, members.length ? await deps.redis.zmscore(keys.metricsFirstDelivery(c), ...members) : []] as const)),
      Promise.all(channelNames.map(async (c) => [c, members.length ? await deps.redis.zmscore(keys.metricsLastDelivery(c), ...members) : []] as const)),
      readLastDeliveries(deps.redis, deps.prefix),
    ]);
    return { counters, queueCounts: new Map(queueCounts), first: new Map(first), last: new Map(last), channelLast };
  }

  return async () => {
    const records = await deps.archive.records();
    // records() is oldest acceptance first. Labels name public revisions only: an id under
    // embargo or above TLP:CLEAR must not reach a dashboard before the public may know it.
    const view = publicView(records, (deps.now ?? (() => new Date()))());
    const latest = records.filter((r) => view.isPublic(r)).slice(-recent);
    let timer: NodeJS.Timeout | undefined;
    const fromRedis = await Promise.race([
      readRedis(latest),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
    ]).catch(() => null).finally(() => clearTimeout(timer));

    const families: MetricFamily[] = [accepted(records)];
    families.push({
      name: 'tocsin_metrics_redis_up',
      help: 'Whether Redis answered this scrape (1) or not (0): without it the delivery and queue metrics are left out.',
      type: 'gauge',
      samples: [{ value: fromRedis ? 1 : 0 }],
    });
    if (fromRedis) families.push(...deliveries(fromRedis), ...queueDepth(fromRedis), ...latency(fromRedis, latest), channelFreshness(fromRedis.channelLast));
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
  // A drill is a rehearsal, not an advisory: it is never counted as one.
  for (const r of records.filter((x) => x.kind !== 'drill')) counts.set(`${r.kind}/${r.severity}`, (counts.get(`${r.kind}/${r.severity}`) ?? 0) + 1);
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

function deliveries({ counters }: RedisNumbers): MetricFamily[] {
  const n = (field: string) => Number(counters[field] ?? 0);
  return [
    {
      name: 'tocsin_deliveries_total',
      help: 'Deliveries that reached a final state, by channel and outcome (delivered or failed).',
      type: 'counter',
      samples: channelNames.flatMap((channel) => [
        { labels: { channel, outcome: 'delivered' }, value: n(counterField.delivered(channel)) },
        { labels: { channel, outcome: 'failed' }, value: n(counterField.failed(channel)) },
      ]),
    },
    {
      name: 'tocsin_delivery_failures_total',
      help: 'Deliveries given up, by channel and reason: permanent (e.g. HTTP 410, invalid token), attempts_exhausted, recipient_removed.',
      type: 'counter',
      samples: channelNames.flatMap((channel) => FAILURE_REASONS.map((reason) => ({ labels: { channel, reason }, value: n(counterField.failedFor(channel, reason)) }))),
    },
    {
      name: 'tocsin_delivery_retries_total',
      help: 'Failed delivery attempts for which a retry was scheduled, by channel.',
      type: 'counter',
      samples: channelNames.map((channel) => ({ labels: { channel }, value: n(counterField.retry(channel)) })),
    },
  ];
}

function queueDepth({ queueCounts }: RedisNumbers): MetricFamily[] {
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
function latency(numbers: RedisNumbers, latest: readonly AdvisoryRecord[]): MetricFamily[] {
  const gauge = (from: Map<ChannelName, (string | null)[]>): Sample[] =>
    channelNames.flatMap((channel) =>
      latest.flatMap((record, i) => {
        const at = from.get(channel)?.[i];
        if (at === null || at === undefined) return [];
        const seconds = (Number(at) - Date.parse(record.accepted_at)) / 1000;
        return [{ labels: { channel, advisory: record.id, revision: String(record.revision) }, value: seconds }];
      }),
    );
  return [
    {
      name: 'tocsin_first_delivery_seconds',
      help: 'Seconds from acceptance to the first successful delivery, per channel, for the most recently accepted revisions.',
      type: 'gauge',
      samples: gauge(numbers.first),
    },
    {
      name: 'tocsin_last_delivery_seconds',
      help: 'Seconds from acceptance to the latest successful delivery so far (final once every recipient is delivered or failed), per channel, for the most recently accepted revisions.',
      type: 'gauge',
      samples: gauge(numbers.last),
    },
  ];
}
