import path from 'node:path';
import type { Redis } from 'ioredis';
import type { ChannelName } from '../channels/channel-names';
import { redisKeys } from '../queue/redis-keys';
import { createAppendLog } from '../storage/append-log';
import { applyRoutingChanges, type Recipient, type RecipientOf, type RoutingChanges } from './recipient';
import { applyHardBounce } from './recipient-status';

/**
 * Redis holds no complete recipient directory (it restarted empty and the API has not synced it
 * yet): a recipient missing from it may still exist, so the job must wait, not mark it removed.
 */
export class RecipientsNotLoadedError extends Error {
  constructor() {
    super('the recipient directory in Redis is not loaded yet (Redis restarted?): will retry');
    this.name = 'RecipientsNotLoadedError';
  }
}

/**
 * One line of recipients.jsonl. An `update` holds the change, not the result, and is applied to
 * whatever the lines before it left: two changes to one recipient in flight together both
 * count, in log order, live as on replay. (A log written before `update` existed has none.)
 */
type LogEntry =
  | { op: 'add'; at: string; recipient: Recipient }
  | { op: 'remove'; at: string; id: string }
  | { op: 'update'; at: string; id: string; changes: RoutingChanges }
  /** An import's new state of a recipient that exists: applies only if it still does (a removal written meanwhile wins). */
  | { op: 'replace'; at: string; recipient: Recipient }
  /** `report`: the bounce report's identity (BounceEntry.report), so that the same report counts once; absent in older logs and for reports without one. */
  | { op: 'bounce'; at: string; id: string; status: string; report?: string };

/** What recording a hard bounce did: counted it, or found its report counted already. */
export interface HardBounceOutcome {
  recipient: RecipientOf<'email'>;
  /** True when this report was counted against this recipient before: nothing changed. */
  duplicate: boolean;
}

/**
 * Recipients, durable in TOCSIN_DATA_DIR/recipients.jsonl (the truth) and mirrored into Redis
 * (where workers read them). Only the API process writes.
 */
export interface RecipientStore {
  add(recipient: Recipient): Promise<void>;
  /** False when there was no such recipient. */
  remove(id: string): Promise<boolean>;
  /**
   * Changes who the recipient receives what from (groups, tlp, filter), durably; answers the
   * recipient as changed, or undefined when there is no such recipient (or it was removed while
   * the change was being written).
   */
  update(id: string, changes: RoutingChanges): Promise<Recipient | undefined>;
  /**
   * Writes an import: `added` new, `changed` replacing the recipients of their ids, all in one
   * write of the log with one fsync (durable together, or on replay not at all past a torn
   * line), then into Redis in chunks.
   */
  importRecipients(added: readonly Recipient[], changed: readonly Recipient[]): Promise<void>;
  get(id: string): Recipient | undefined;
  /** The email recipient whose unsubscribe links carry this token. */
  findByUnsubscribeToken(token: string): RecipientOf<'email'> | undefined;
  /** The email recipients at this address (compared without regard to case). */
  findByAddress(address: string): RecipientOf<'email'>[];
  /**
   * Counts one hard bounce (`status`, e.g. 5.1.1) against the email recipient, durably; the
   * third makes it inactive. `report` (the report's identity) is remembered with it: the same
   * report again, even while the first is being written, counts nothing and answers `duplicate`.
   * Answers the recipient as it is after, or undefined when there is no such recipient.
   */
  recordHardBounce(id: string, status: string, report?: string): Promise<HardBounceOutcome | undefined>;
  list(): Recipient[];
  idsFor(channel: ChannelName): string[];
  /** Makes Redis hold exactly the durable set: after a Redis restart, or at start. */
  syncToRedis(redis: Redis): Promise<void>;
  close(): Promise<void>;
}

/** Recipients per Redis command when writing many. */
const REDIS_CHUNK = 1000;

export async function openRecipientStore(dataDir: string, redis: Redis, prefix: string): Promise<RecipientStore> {
  const log = createAppendLog<LogEntry>(path.join(dataDir, 'recipients.jsonl'));
  const keys = redisKeys(prefix);
  const current = new Map<string, Recipient>();
  /** Per recipient, the identities of the bounce reports counted against it (or being written). */
  const bounceReports = new Map<string, Set<string>>();
  const rememberReport = (id: string, report: string) => {
    let reports = bounceReports.get(id);
    if (!reports) bounceReports.set(id, (reports = new Set()));
    reports.add(report);
  };
  /** What one logged line does to the directory: the same on replay and live, once the line is on disk. */
  const apply = (entry: LogEntry): void => {
    switch (entry.op) {
      case 'add':
        current.set(entry.recipient.id, entry.recipient);
        return;
      case 'remove':
        current.delete(entry.id);
        bounceReports.delete(entry.id);
        return;
      case 'replace':
        if (current.has(entry.recipient.id)) current.set(entry.recipient.id, entry.recipient);
        return;
      case 'update': {
        const recipient = current.get(entry.id);
        if (recipient) current.set(entry.id, applyRoutingChanges(recipient, entry.changes));
        return;
      }
      case 'bounce': {
        const recipient = current.get(entry.id);
        if (recipient?.type !== 'email') return;
        current.set(entry.id, applyHardBounce(recipient));
        if (entry.report !== undefined) rememberReport(entry.id, entry.report);
        return;
      }
    }
  };
  for (const entry of await log.readAll()) apply(entry);

  return {
    async add(recipient) {
      await log.append({ op: 'add', at: new Date().toISOString(), recipient });
      current.set(recipient.id, recipient);
      // Durable first; if Redis is down now, the periodic sync brings it in later.
      await redis.hset(keys.recipients, recipient.id, JSON.stringify(recipient)).catch(() => undefined);
    },
    async remove(id) {
      if (!current.has(id)) return false;
      await log.append({ op: 'remove', at: new Date().toISOString(), id });
      current.delete(id);
      await redis.hdel(keys.recipients, id).catch(() => undefined);
      return true;
    },
    async update(id, changes) {
      if (!current.has(id)) return undefined;
      const entry: LogEntry = { op: 'update', at: new Date().toISOString(), id, changes };
      await log.append(entry);
      // Applied to what is current now, not to what was read before the write: a change or a
      // removal written meanwhile comes first in the log, so it comes first here too.
      apply(entry);
      const updated = current.get(id);
      if (!updated) return undefined;
      await redis.hset(keys.recipients, id, JSON.stringify(updated)).catch(() => undefined);
      return updated;
    },
    async importRecipients(added, changed) {
      const at = new Date().toISOString();
      const entries: LogEntry[] = [...added.map((recipient) => ({ op: 'add' as const, at, recipient })), ...changed.map((recipient) => ({ op: 'replace' as const, at, recipient }))];
      if (entries.length === 0) return;
      await log.appendAll(entries);
      for (const entry of entries) apply(entry);
      // What is current now (a removal written during the import stays removed), in chunks so
      // that no one Redis command carries the whole import.
      const written = entries.map((e) => (e.op === 'add' || e.op === 'replace' ? e.recipient.id : '')).filter((id) => current.has(id));
      for (let i = 0; i < written.length; i += REDIS_CHUNK) {
        const chunk = written.slice(i, i + REDIS_CHUNK).flatMap((id) => [id, JSON.stringify(current.get(id))]);
        // Durable first; if Redis is down now, the periodic sync brings them in later.
        await redis.hset(keys.recipients, ...chunk).catch(() => undefined);
      }
    },
    async recordHardBounce(id, status, report) {
      const before = current.get(id);
      if (before?.type !== 'email') return undefined;
      if (report !== undefined) {
        if (bounceReports.get(id)?.has(report)) return { recipient: before, duplicate: true };
        // Taken before the write, so the same report arriving meanwhile (a relay's retry racing
        // its first POST) is a duplicate too; given back if the write fails.
        rememberReport(id, report);
      }
      const entry: LogEntry = { op: 'bounce', at: new Date().toISOString(), id, status, ...(report !== undefined ? { report } : {}) };
      try {
        await log.append(entry);
      } catch (err) {
        if (report !== undefined) bounceReports.get(id)?.delete(report);
        throw err;
      }
      apply(entry);
      const bounced = current.get(id);
      if (bounced?.type !== 'email') return undefined;
      await redis.hset(keys.recipients, id, JSON.stringify(bounced)).catch(() => undefined);
      return { recipient: bounced, duplicate: false };
    },
    get: (id) => current.get(id),
    findByAddress(address) {
      const wanted = address.toLowerCase();
      const found: RecipientOf<'email'>[] = [];
      for (const r of current.values()) if (r.type === 'email' && r.address.toLowerCase() === wanted) found.push(r);
      return found;
    },
    findByUnsubscribeToken(token) {
      for (const r of current.values()) if (r.type === 'email' && r.unsubscribe_token === token) return r;
      return undefined;
    },
    list: () => [...current.values()],
    idsFor: (channel) => [...current.values()].filter((r) => r.type === channel).map((r) => r.id).sort(),
    async syncToRedis(client) {
      const stored = await client.hkeys(keys.recipients);
      const stale = stored.filter((id) => !current.has(id));
      const pipeline = client.pipeline();
      if (stale.length > 0) pipeline.hdel(keys.recipients, ...stale);
      const entries = [...current.values()];
      for (let i = 0; i < entries.length; i += REDIS_CHUNK) {
        const chunk = entries.slice(i, i + REDIS_CHUNK).flatMap((r) => [r.id, JSON.stringify(r)]);
        pipeline.hset(keys.recipients, ...chunk);
      }
      // Last, so that it is there only when everything before it is.
      pipeline.set(keys.recipientsSynced, new Date().toISOString());
      await pipeline.exec();
    },
    close: () => log.close(),
  };
}

/** The workers' read-only view of recipients, from Redis. */
export function createRecipientDirectory(redis: Redis, prefix: string) {
  const keys = redisKeys(prefix);
  return {
    /**
     * The recipients among `ids` that exist. Throws {@link RecipientsNotLoadedError} when some
     * are missing and Redis has not been synced since it last lost its data: a worker must
     * never take "not in a Redis that restarted empty" for "removed".
     */
    async getMany(ids: readonly string[]): Promise<Map<string, Recipient>> {
      const out = new Map<string, Recipient>();
      if (ids.length === 0) return out;
      // One transaction, so the mark and the hash are read from the same Redis.
      const replies = await redis.multi().exists(keys.recipientsSynced).hmget(keys.recipients, ...ids).exec();
      if (!replies) throw new RecipientsNotLoadedError();
      for (const [err] of replies) if (err) throw err;
      const synced = replies[0]![1] === 1;
      const values = replies[1]![1] as (string | null)[];
      ids.forEach((id, i) => {
        const v = values[i];
        if (v) out.set(id, JSON.parse(v) as Recipient);
      });
      if (out.size < ids.length && !synced) throw new RecipientsNotLoadedError();
      return out;
    },
  };
}
