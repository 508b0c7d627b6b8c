import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { channelNames } from '../channels/channel-names';
import { redisKeys } from '../queue/redis-keys';
import type { DeliveryReceipt, DeliveryReceipts } from './receipts';

export interface ReceiptCollectorOptions {
  /** A connection of its own: the collector blocks on it while it waits for receipts. */
  redis: Redis;
  prefix: string;
  receipts: DeliveryReceipts;
  /** Told what each commit wrote, once it is on disk (the reconciler settles revisions by it). Must not throw. */
  committed: (receipts: readonly DeliveryReceipt[]) => void;
  log: Logger;
  /** Longest wait for new receipts in one read, and so the longest a close waits. Default 250 ms. */
  blockMs?: number;
  /** Most receipts taken from the stream per commit. Default 2000. */
  batch?: number;
}

export interface ReceiptCollector {
  /** Stops after the commit in progress; what is left in the stream is taken at the next start. */
  close(): Promise<void>;
}

/** The consumer group every API process on a prefix shares: each receipt is written by one of them. */
export const RECEIPTS_GROUP = 'tocsin-api';
/**
 * One consumer name for every API process: a process that was killed between reading receipts
 * and writing them leaves them pending under this name, and the next start reads them first.
 */
const CONSUMER = 'api';
const STATUSES = new Set(['delivered', 'retrying', 'failed']);

type StreamReply = [string, [string, string[] | null][]][] | null;

/**
 * Trims the stream below the oldest entry some consumer group may still need: its oldest entry
 * read but not acknowledged (not yet on disk), else the last entry it read (everything after it
 * is unread). Entries the collector committed are deleted one by one after each commit; this
 * also takes away any that a lost connection left between acknowledgement and deletion. With no
 * group (no API has read the stream yet) nothing is trimmed: every entry is still to be written.
 * Returns the stream's length after the trim.
 */
const TRIM_COMMITTED = `
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return redis.call('XLEN', KEYS[1]) end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local keep = nil
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local pending = redis.call('XPENDING', KEYS[1], info['name'])
  local oldest = info['last-delivered-id']
  if tonumber(pending[1]) > 0 then oldest = pending[2] end
  if keep == nil or less(oldest, keep) then keep = oldest end
end
redis.call('XTRIM', KEYS[1], 'MINID', keep)
return redis.call('XLEN', KEYS[1])`;

/** Past this many entries waiting in the stream, the collector says that receipts are not reaching the disk. */
const BACKLOG_WARNING = 100_000;

/** A receipt as the stream carries it, or null for an entry that is not one (it is dropped). */
function parseReceipt(fields: string[] | null): DeliveryReceipt | null {
  const i = fields?.indexOf('r') ?? -1;
  if (!fields || i < 0 || i % 2 !== 0) return null;
  try {
    const r = JSON.parse(fields[i + 1] ?? '') as Partial<DeliveryReceipt>;
    const ok =
      typeof r.advisory === 'string' &&
      Number.isInteger(r.revision) &&
      channelNames.includes(r.channel as never) &&
      typeof r.recipient === 'string' &&
      STATUSES.has(r.state as string) &&
      typeof r.updated_at === 'string';
    return ok ? (r as DeliveryReceipt) : null;
  } catch {
    return null;
  }
}

/**
 * Moves the receipts the workers add to the Redis stream into the durable receipts beside the
 * archive: the workers may not share TOCSIN_DATA_DIR, the API does. Each read takes whatever
 * arrived meanwhile and commits it in one write and fsync per revision, so a commit is under a
 * second behind the worker's write however busy the fan-out; then the entries are acknowledged
 * and deleted. Whatever a Redis data loss takes before a commit is the window where a delivery
 * may be sent again.
 */
export function startReceiptCollector(o: ReceiptCollectorOptions): ReceiptCollector {
  const key = redisKeys(o.prefix).receipts;
  const blockMs = o.blockMs ?? 250;
  const batch = o.batch ?? 2_000;
  let stopped = false;
  // '0' reads this consumer's entries read before and never acknowledged, '>' the new ones.
  let cursor = '0';
  let wake: (() => void) | null = null;
  let backlogSaid = false;

  async function ensureGroup(): Promise<void> {
    try {
      await o.redis.xgroup('CREATE', key, RECEIPTS_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  async function commitOnce(): Promise<void> {
    const reply = (await o.redis.xreadgroup('GROUP', RECEIPTS_GROUP, CONSUMER, 'COUNT', batch, 'BLOCK', blockMs, 'STREAMS', key, cursor)) as StreamReply;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) {
      cursor = '>';
      return;
    }
    const receipts: DeliveryReceipt[] = [];
    for (const [, fields] of entries) {
      const r = parseReceipt(fields);
      if (r) receipts.push(r);
      // Deleted since it was read (a history read shows it empty), or not a receipt: nothing to keep.
      else if (fields) o.log.warn({ fields }, 'receipts stream: an entry that is not a receipt was dropped');
    }
    const dropped = await o.receipts.append(receipts);
    for (const ref of new Set(dropped.map((r) => `${r.advisory} revision ${r.revision}`))) {
      o.log.warn({ revision: ref }, 'receipts of a revision this archive does not hold were dropped (another data dir on the same Redis prefix?)');
    }
    const ids = entries.map(([id]) => id);
    await o.redis.pipeline().xack(key, RECEIPTS_GROUP, ...ids).xdel(key, ...ids).exec();
    o.committed(receipts);
    await trimCommitted();
  }

  async function trimCommitted(): Promise<void> {
    let left: number;
    try {
      left = Number(await o.redis.eval(TRIM_COMMITTED, 1, key));
    } catch (err) {
      // What was committed is on disk either way; the next commit trims again.
      o.log.debug({ err: (err as Error).message }, 'receipts stream: could not trim what was committed');
      return;
    }
    if (left >= BACKLOG_WARNING && !backlogSaid) o.log.warn({ entries: left }, 'receipts stream: a large backlog waits to be written to disk');
    backlogSaid = left >= BACKLOG_WARNING;
  }

  async function run(): Promise<void> {
    let failures = 0;
    await ensureGroup().catch(() => undefined);
    while (!stopped) {
      try {
        await commitOnce();
        failures = 0;
      } catch (err) {
        const message = (err as Error).message;
        // Redis lost its data (and the group with it): start again from the stream's beginning.
        if (/NOGROUP/.test(message)) {
          await ensureGroup().catch(() => undefined);
          cursor = '0';
          continue;
        }
        failures += 1;
        // Read again what was read: a failed write or acknowledgement left it pending.
        cursor = '0';
        if (failures === 1 || failures % 50 === 0) o.log.warn({ err: message }, 'could not move receipts to disk; trying again');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(100 * failures, 2_000)).unref();
        });
        wake = null;
      }
    }
  }

  const running = run();
  return {
    async close() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
