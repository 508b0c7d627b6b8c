import type { Redis } from 'ioredis';
import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import type { DeliveryOutcome, FailureReason } from '../delivery/delivery-outcome';
import { redisKeys } from '../queue/redis-keys';

/** Fields of the shared counter hash, one place for writer and reader. */
export const counterField = {
  delivered: (channel: ChannelName) => `${channel}:delivered`,
  failed: (channel: ChannelName) => `${channel}:failed`,
  failedFor: (channel: ChannelName, reason: FailureReason) => `${channel}:failed:${reason}`,
  retry: (channel: ChannelName) => `${channel}:retry`,
};

/** Member of the first/last delivery sorted sets; ids never contain ':'. */
export const revisionMember = (ref: AdvisoryRef) => `${ref.id}:${ref.revision}`;

export interface DeliveryMetricsRecorder {
  record(outcome: DeliveryOutcome): void;
  /** Writes what was recorded since the last flush. */
  flush(): Promise<void>;
  /** Flushes (waiting at most `timeoutMs` for Redis) and stops the timer. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The worker side of /metrics. Outcomes are tallied in memory and written to Redis every
 * `flushEveryMs` as one pipeline (HINCRBY per counter, ZADD LT/GT per revision and channel), so a
 * fan-out of thousands costs a few Redis round trips, and counts from every worker process add
 * up in one place the API reads. A process killed outright loses at most that interval's
 * counts; the delivery states, not these counters, are the record of what was sent.
 */
export function createDeliveryMetricsRecorder(redis: Redis, prefix: string, flushEveryMs = 250): DeliveryMetricsRecorder {
  const keys = redisKeys(prefix);
  let counts = new Map<string, number>();
  // channel -> member -> epoch ms
  let first = new Map<ChannelName, Map<string, number>>();
  let last = new Map<ChannelName, Map<string, number>>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  const bump = (field: string) => counts.set(field, (counts.get(field) ?? 0) + 1);
  const keep = (into: Map<ChannelName, Map<string, number>>, channel: ChannelName, member: string, at: number, better: (a: number, b: number) => boolean) => {
    let perChannel = into.get(channel);
    if (!perChannel) into.set(channel, (perChannel = new Map()));
    const current = perChannel.get(member);
    if (current === undefined || better(at, current)) perChannel.set(member, at);
  };

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const c = counts;
    const f = first;
    const l = last;
    counts = new Map();
    first = new Map();
    last = new Map();
    if (c.size === 0 && f.size === 0 && l.size === 0) return writing;
    writing = writing.then(async () => {
      const pipeline = redis.pipeline();
      for (const [field, n] of c) pipeline.hincrby(keys.metricsDeliveries, field, n);
      // LT and GT keep the earliest and latest over every process, whatever order flushes land in.
      for (const [channel, members] of f) for (const [member, at] of members) pipeline.zadd(keys.metricsFirstDelivery(channel), 'LT', at, member);
      for (const [channel, members] of l) for (const [member, at] of members) pipeline.zadd(keys.metricsLastDelivery(channel), 'GT', at, member);
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err)?.[0];
      if (failed) throw failed;
    }).catch(() => {
      // Counters are best effort: a failed write is dropped rather than retried forever.
    });
    return writing;
  }

  return {
    record(o) {
      switch (o.outcome) {
        case 'delivered': {
          bump(counterField.delivered(o.channel));
          const member = revisionMember(o.ref);
          keep(first, o.channel, member, o.at, (a, b) => a < b);
          keep(last, o.channel, member, o.at, (a, b) => a > b);
          break;
        }
        case 'retry_scheduled':
          bump(counterField.retry(o.channel));
          break;
        case 'failed':
          bump(counterField.failed(o.channel));
          bump(counterField.failedFor(o.channel, o.reason));
          break;
      }
      if (!timer) {
        timer = setTimeout(() => void flush(), flushEveryMs);
        timer.unref();
      }
    },
    flush,
    async close(timeoutMs = 2_000) {
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([flush(), new Promise<void>((resolve) => (wait = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(wait);
    },
  };
}
