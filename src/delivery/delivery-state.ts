import type { Redis } from 'ioredis';
import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import { redisKeys } from '../queue/redis-keys';
import type { DeliveryState } from './delivery-status';
import { receiptOf, STATE_RANK } from './receipts';

/**
 * Writes a replay's `retrying` state only over a delivery that is missing or failed from an
 * earlier replay generation: a replay job that already ran (and wrote its own outcome), or a
 * concurrent replay of the same generation, is never overwritten.
 */
const WRITE_IF_FAILED_BEFORE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local s = cjson.decode(cur)
  if s.state ~= 'failed' or (tonumber(s.replays) or 0) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('XADD', KEYS[2], '*', 'r', ARGV[4])
return 1`;

/**
 * Writes each state unless the stored one ranks higher, and adds the receipt of each state it
 * wrote to the receipts stream in the same step: a state Redis holds always has its receipt on
 * the way to disk. With no stream key (the benchmark's receipts-off run) it writes states only. Parses the stored JSON with cjson, so a malformed value counts as pending
 * rather than blocking the write.
 */
const ADVANCE_SCRIPT = `
local rank = { pending = 0, retrying = 0, failed = 1, delivered = 2 }
for i = 1, #ARGV, 4 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local held = 0
  if current then
    local ok, state = pcall(cjson.decode, current)
    if ok and type(state) == 'table' and rank[state.state] then held = rank[state.state] end
  end
  if tonumber(ARGV[i + 2]) >= held then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    if KEYS[2] then redis.call('XADD', KEYS[2], '*', 'r', ARGV[i + 3]) end
  end
end
return 0`;

export interface DeliveryStateStoreOptions {
  /** False only for the benchmark's measure of what receipts cost (TOCSIN_BENCH_RECEIPTS_OFF): `advance` then adds no receipt. Default true. */
  receipts?: boolean;
}

/** Delivery states in Redis: a hash per channel and revision, written in pipelined chunks. */
export function createDeliveryStateStore(redis: Redis, prefix: string, options: DeliveryStateStoreOptions = {}) {
  const keys = redisKeys(prefix);
  const streamKeys = options.receipts === false ? [] : [keys.receipts];
  return {
    /** Sets states as they are, with no receipt: an operator's reset, or a test's set-up. */
    async write(channel: ChannelName, ref: AdvisoryRef, updates: ReadonlyMap<string, DeliveryState>): Promise<void> {
      if (updates.size === 0) return;
      const flat = [...updates].flatMap(([id, s]) => [id, JSON.stringify(s)]);
      await redis.hset(keys.deliveries(channel, ref), ...flat);
    },
    /**
     * What the delivery processors write, each state with its receipt: like `write`, but a recipient already `delivered` stays
     * so, and one `failed` becomes only `delivered`. A worker that lost its job (its lock lapsed,
     * or Redis restarted empty under it) may still finish and write what it saw long ago; that
     * must not turn a later delivery back into "retrying", where nothing would ever move it.
     */
    async advance(channel: ChannelName, ref: AdvisoryRef, updates: ReadonlyMap<string, DeliveryState>): Promise<void> {
      if (updates.size === 0) return;
      const args = [...updates].flatMap(([id, s]) => [id, JSON.stringify(s), String(STATE_RANK[s.state]), JSON.stringify(receiptOf(channel, ref, id, s))]);
      await redis.eval(ADVANCE_SCRIPT, 1 + streamKeys.length, keys.deliveries(channel, ref), ...streamKeys, ...args);
    },
    async getMany(channel: ChannelName, ref: AdvisoryRef, ids: readonly string[]): Promise<(DeliveryState | null)[]> {
      if (ids.length === 0) return [];
      const values = await redis.hmget(keys.deliveries(channel, ref), ...ids);
      return values.map((v) => (v ? (JSON.parse(v) as DeliveryState) : null));
    },
    /** Writes `state` (of replay generation `state.replays`) unless the delivery moved on; true when written. */
    async writeReplayed(channel: ChannelName, ref: AdvisoryRef, id: string, state: DeliveryState): Promise<boolean> {
      const receipt = JSON.stringify(receiptOf(channel, ref, id, state));
      const written = await redis.eval(WRITE_IF_FAILED_BEFORE, 2, keys.deliveries(channel, ref), keys.receipts, id, String(state.replays ?? 0), JSON.stringify(state), receipt);
      return written === 1;
    },
    /** Sets states only where the revision has none (restoring what a Redis data loss forgot); no receipts, they are on disk already. */
    async restoreMissing(channel: ChannelName, ref: AdvisoryRef, states: ReadonlyMap<string, DeliveryState>): Promise<void> {
      if (states.size === 0) return;
      const pipeline = redis.pipeline();
      for (const [id, s] of states) pipeline.hsetnx(keys.deliveries(channel, ref), id, JSON.stringify(s));
      await pipeline.exec();
    },
    /** Every state of the revision on the channel, a chunk of about `count` at a time (HSCAN: may repeat one, never misses one). */
    async *scan(channel: ChannelName, ref: AdvisoryRef, count = 1_000): AsyncGenerator<[string, DeliveryState][]> {
      let cursor = '0';
      do {
        const [next, flat] = await redis.hscan(keys.deliveries(channel, ref), cursor, 'COUNT', count);
        cursor = next;
        const chunk: [string, DeliveryState][] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) chunk.push([flat[i]!, JSON.parse(flat[i + 1]!) as DeliveryState]);
        if (chunk.length > 0) yield chunk;
      } while (cursor !== '0');
    },
    async getAll(channel: ChannelName, ref: AdvisoryRef): Promise<Map<string, DeliveryState>> {
      const all = await redis.hgetall(keys.deliveries(channel, ref));
      return new Map(Object.entries(all).map(([id, v]) => [id, JSON.parse(v) as DeliveryState]));
    },
  };
}
export type DeliveryStateStore = ReturnType<typeof createDeliveryStateStore>;
