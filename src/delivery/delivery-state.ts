import type { Redis } from 'ioredis';
import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel';
import { redisKeys } from '../queue/redis-keys';

export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed';

/** One recipient's delivery of one advisory revision over one channel. */
export interface DeliveryState {
  state: DeliveryStatus;
  attempts: number;
  updated_at: string;
  /** What the peer answered on success, e.g. "HTTP 200". */
  detail?: string;
  last_error?: string;
  next_attempt_at?: string;
}

/** Delivery states in Redis: a hash per channel and revision, written in pipelined chunks. */
export function createDeliveryStateStore(redis: Redis, prefix: string) {
  const keys = redisKeys(prefix);
  return {
    async write(channel: ChannelName, ref: AdvisoryRef, updates: ReadonlyMap<string, DeliveryState>): Promise<void> {
      if (updates.size === 0) return;
      const flat = [...updates].flatMap(([id, s]) => [id, JSON.stringify(s)]);
      await redis.hset(keys.deliveries(channel, ref), ...flat);
    },
    async getMany(channel: ChannelName, ref: AdvisoryRef, ids: readonly string[]): Promise<(DeliveryState | null)[]> {
      if (ids.length === 0) return [];
      const values = await redis.hmget(keys.deliveries(channel, ref), ...ids);
      return values.map((v) => (v ? (JSON.parse(v) as DeliveryState) : null));
    },
    async getAll(channel: ChannelName, ref: AdvisoryRef): Promise<Map<string, DeliveryState>> {
      const all = await redis.hgetall(keys.deliveries(channel, ref));
      return new Map(Object.entries(all).map(([id, v]) => [id, JSON.parse(v) as DeliveryState]));
    },
  };
}
export type DeliveryStateStore = ReturnType<typeof createDeliveryStateStore>;
