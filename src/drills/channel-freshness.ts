import type { Redis } from 'ioredis';
import { channelNames, type ChannelName } from '../channels/channel-names';
import { redisKeys } from '../queue/redis-keys';

/** Per channel, the epoch ms of its latest successful delivery (drill or real), or null when none is known. */
export type LastDeliveries = Record<ChannelName, number | null>;

/**
 * Reads the workers' record of each revision's latest successful delivery per channel (the
 * metrics' sorted sets) and keeps the latest. Redis is the only copy: after a Redis data loss a
 * channel reads as never delivered until its next delivery, which errs on the side of a warning.
 */
export async function readLastDeliveries(redis: Redis, prefix: string): Promise<LastDeliveries> {
  const keys = redisKeys(prefix);
  const out = {} as LastDeliveries;
  for (const channel of channelNames) {
    const [, score] = await redis.zrevrange(keys.metricsLastDelivery(channel), 0, 0, 'WITHSCORES');
    out[channel] = score === undefined ? null : Number(score);
  }
  return out;
}

/**
 * The `/readyz` warnings of channels that have recipients and no successful delivery, drill or
 * real, within `staleDays` of `now`: a removed Slack app or a changed relay password shows here
 * before the day it matters. Keyed `channel_<name>`.
 */
export function staleChannelWarnings(last: LastDeliveries, recipients: Record<ChannelName, number>, now: Date, staleDays: number): Record<string, string> {
  const warnings: Record<string, string> = {};
  const limit = now.getTime() - staleDays * 86_400_000;
  for (const channel of channelNames) {
    if (recipients[channel] === 0) continue;
    const at = last[channel];
    if (at !== null && at >= limit) continue;
    const since = at === null ? 'no successful delivery known' : `no successful delivery since ${new Date(at).toISOString()}`;
    warnings[`channel_${channel}`] = `${since}, with ${recipients[channel]} recipient(s), over TOCSIN_CHANNEL_STALE_DAYS (${staleDays}): run tocsin drill --channels ${channel}`;
  }
  return warnings;
}
