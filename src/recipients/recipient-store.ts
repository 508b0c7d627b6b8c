import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { channelNames, type ChannelName } from '../channels/channel-names';
import { redisKeys } from '../queue/redis-keys';
import { createAppendLog } from '../storage/append-log';
import { PRIVATE_FILE_MODE, writeFileDurableFrom } from '../storage/durable-file';
import { linesOf, readLineAt } from '../storage/line-file';
import { createHashIndex } from './hash-index';
import { applyRoutingChanges, type Recipient, type RecipientOf, type RoutingChanges } from './recipient';
import { applyHardBounce } from './recipient-status';
import { targetKey } from './recipient-target';
import { readAhead } from '../util/read-ahead';
import { inPieces } from '../util/text-pieces';

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
 * One line of recipients.jsonl. An `update` or a `bounce` holds the change and, since the
 * directory is read from the file, the recipient as it left it (`recipient`): that line is where
 * the recipient's current state is read. One written before carries only the change, applied on
 * replay to whatever the lines before it left. A compacted file holds one `add` per recipient.
 */
type LogEntry =
  /** `bounce_reports`: in a compacted file, the identities of the bounce reports counted against the recipient. */
  | { op: 'add'; at: string; recipient: Recipient; bounce_reports?: string[] }
  | { op: 'remove'; at: string; id: string }
  | { op: 'update'; at: string; id: string; changes: RoutingChanges; recipient?: Recipient }
  /** An import's new state of a recipient that exists: applies only if it still does (a removal written meanwhile wins). */
  | { op: 'replace'; at: string; recipient: Recipient }
  /** `report`: the bounce report's identity (BounceEntry.report), so that the same report counts once; absent in older logs and for reports without one. */
  | { op: 'bounce'; at: string; id: string; status: string; report?: string; recipient?: Recipient };

/**
 * A recipient as it was read, with where its line was then (`at`): any write to the recipient
 * moves its line, so the store can tell, without reading it again, that it is still current.
 */
export interface ReadRecipient {
  recipient: Recipient;
  at: number;
  /** Which file `at` is an offset of: a compaction rewrites it, and a line may then start at the same offset. */
  file: number;
}

/**
 * One recipient an import writes: a new one, or the change it makes to one that exists
 * (`read`: the recipient as the import's check read it, which spares reading it again when
 * nothing wrote to it since).
 */
export type ImportWrite = { add: Recipient } | { id: string; next: (current: Recipient) => Recipient; read?: ReadRecipient };

/** What recording a hard bounce did: counted it, or found its report counted already. */
export interface HardBounceOutcome {
  recipient: RecipientOf<'email'>;
  /** True when this report was counted against this recipient before: nothing changed. */
  duplicate: boolean;
}

/**
 * Recipients, durable in TOCSIN_DATA_DIR/recipients.jsonl (the truth) and mirrored into Redis
 * (where workers read them). Only the API process writes. The file is also where recipients are
 * read from: memory holds only where each one's line is, so it does not grow with the audience
 * beyond a few tens of bytes per recipient.
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
   * Writes an import as `writes` yields it (never held whole): new recipients, and changes to
   * ones that exist, applied to each as it is then (one removed since stays removed; one left as
   * it was is not written; each id at most once). One append with one fsync: if it fails nothing of it stays. Then
   * into Redis in chunks, read back from the file. Other operations wait until it ends.
   */
  importRecipients(writes: AsyncIterable<ImportWrite> | Iterable<ImportWrite>): Promise<void>;
  get(id: string): Promise<Recipient | undefined>;
  /** Whether the recipient exists, from memory alone. */
  has(id: string): boolean;
  /** The email recipient whose unsubscribe links carry this token. */
  findByUnsubscribeToken(token: string): Promise<RecipientOf<'email'> | undefined>;
  /** The email recipients at this address (compared without regard to case). */
  findByAddress(address: string): Promise<RecipientOf<'email'>[]>;
  /** The recipients whose notices go where `key` (see targetKey) says: an import updates such one instead of adding another. */
  findByTarget(key: string): Promise<ReadRecipient[]>;
  /**
   * Counts one hard bounce (`status`, e.g. 5.1.1) against the email recipient, durably; the
   * third makes it inactive. `report` (the report's identity) is remembered with it: the same
   * report again, even while the first is being written, counts nothing and answers `duplicate`.
   * Answers the recipient as it is after, or undefined when there is no such recipient.
   */
  recordHardBounce(id: string, status: string, report?: string): Promise<HardBounceOutcome | undefined>;
  /**
   * Every recipient once, in the order they were enrolled, read from the file as the loop asks
   * for them. One changed or removed while the loop runs is seen as it was or as it is.
   */
  all(): AsyncGenerator<Recipient>;
  /** How many recipients there are on each channel. */
  counts(): Record<ChannelName, number>;
  /** Makes Redis hold exactly the durable set: after a Redis restart, or at start. */
  syncToRedis(redis: Redis): Promise<void>;
  /** True until the first sync, and after a change that could not be written to Redis until the next. */
  mirrorBehind(): boolean;
  close(): Promise<void>;
}

export interface RecipientStoreOptions {
  /**
   * The file is rewritten (compacted) once it holds more lines no longer current than current
   * ones, and at least this many. Default 1000.
   */
  compactAfterDeadLines?: number;
  /**
   * How an import's lines are read back after they are on disk (default: line-file.ts's
   * linesOf). A test's stand-in fails part-way, as a disk can.
   */
  readBack?: typeof linesOf;
}

/**
 * An import is on disk but could not be read back into the index: its recipients are kept, and
 * known from the next start on. Not the client's fault, and not a reason to import again.
 */
export class ImportReadBackError extends Error {
  constructor(readonly at: number, readonly range: { start: number; end: number }, options?: { cause?: unknown }) {
    super(`the import is on disk (recipients.jsonl bytes ${range.start}-${range.end}) but reading it back failed at byte ${at}: restart tocsin to take in the rest`, options);
    this.name = 'ImportReadBackError';
  }
}

/** Recipients per Redis command when writing many. */
const REDIS_CHUNK = 1000;
/** Reads of an import's lines back from disk before the import is answered as failed. */
const READ_BACK_ATTEMPTS = 3;
/** Recipients an import reads at once (see readAhead). */
const READ_AHEAD = 64;
/** What a compaction writes at once. */
const WRITE_PIECE = 256 * 1024;
/** An index entry whose current state is held in `legacy` (derived from a change-only line at open), not on a line. */
const IN_MEMORY = -1;

/** The recipient as the line leaves it; none for a removal or a change-only line of an older log. */
function stateOf(entry: LogEntry): Recipient | undefined {
  return entry.op === 'remove' ? undefined : entry.recipient;
}

function idOf(entry: LogEntry): string {
  return entry.op === 'add' || entry.op === 'replace' ? entry.recipient.id : entry.id;
}

/** Whether two states of one recipient are found by the same lookups (channel, target, token). */
function sameKeys(a: Recipient, b: Recipient): boolean {
  return a.type === b.type && targetKey(a) === targetKey(b) && (a.type !== 'email' || (b.type === 'email' && a.unsubscribe_token === b.unsubscribe_token));
}

/** Recipients by hash of unsubscribe token and of target, and how many per channel. */
function createLookups() {
  const byToken = createHashIndex();
  const byTarget = createHashIndex();
  const counts = Object.fromEntries(channelNames.map((c) => [c, 0])) as Record<ChannelName, number>;
  return {
    byToken,
    byTarget,
    counts,
    add(r: Recipient): void {
      byTarget.add(targetKey(r), r.id);
      if (r.type === 'email') byToken.add(r.unsubscribe_token, r.id);
      counts[r.type] += 1;
    },
    drop(r: Recipient): void {
      byTarget.drop(targetKey(r), r.id);
      if (r.type === 'email') byToken.drop(r.unsubscribe_token, r.id);
      counts[r.type] -= 1;
    },
  };
}

/**
 * Opens the directory: streams recipients.jsonl once to learn where each recipient's current line
 * is (and, in a file of `add`s only, to index unsubscribe tokens and targets by hash), and when it
 * holds lines no longer current compacts it, indexing the recipients as it writes them.
 *
 * A log written before full states were logged (`update`/`bounce` lines with only the change)
 * needs the state each change applies to: those recipients' states are held in memory during
 * the open (only theirs: the others are read back from their lines), then written out by the
 * compaction, after which memory holds none.
 */
export async function openRecipientStore(dataDir: string, redis: Redis, prefix: string, options: RecipientStoreOptions = {}): Promise<RecipientStore> {
  const file = path.join(dataDir, 'recipients.jsonl');
  const compactAfter = options.compactAfterDeadLines ?? 1000;
  const readBack = options.readBack ?? linesOf;
  const log = createAppendLog<LogEntry>(file);
  const keys = redisKeys(prefix);
  /** Id -> byte offset of the line holding the recipient's current state. */
  let index = new Map<string, number>();
  /** How many times the file was compacted: offsets in one are meaningless in the next. */
  let generation = 0;
  /** States derived at open from change-only lines, until the open's compaction writes them. */
  const legacy = new Map<string, Recipient>();
  let lookups = createLookups();
  /**
   * Per recipient, the identities of the bounce reports counted against it (or being written):
   * few (a third hard bounce ends an address), so held in memory, and written onto its `add` by
   * a compaction.
   */
  const bounceReports = new Map<string, Set<string>>();
  const rememberReport = (id: string, report: string) => {
    let reports = bounceReports.get(id);
    if (!reports) bounceReports.set(id, (reports = new Set()));
    reports.add(report);
  };
  /** Lines in the file that no longer hold a current state. */
  let dead = 0;
  let reader: Promise<FileHandle> | null = null;

  async function readAt(offset: number): Promise<Recipient> {
    reader ??= open(file, 'r');
    const recipient = stateOf(JSON.parse(await readLineAt(await reader, offset)) as LogEntry);
    if (!recipient) throw new Error(`recipients.jsonl: the line at byte ${offset} holds no recipient`);
    return recipient;
  }

  async function stateNow(id: string): Promise<Recipient | undefined> {
    const at = index.get(id);
    if (at === undefined) return undefined;
    return at === IN_MEMORY ? legacy.get(id) : readAt(at);
  }

  /**
   * Every current recipient with the time of its `add`, at the place of that `add` (the order of
   * enrolment, as a compaction keeps it). `dedupe` guards against an older log's second `add` of
   * one id, which only the open can meet.
   */
  async function* current(dedupe = false): AsyncGenerator<{ recipient: Recipient; at: string }> {
    const seen = dedupe ? new Set<string>() : null;
    for await (const line of linesOf(file)) {
      const entry = JSON.parse(line.text) as LogEntry;
      if (entry.op !== 'add') continue;
      const id = entry.recipient.id;
      const at = index.get(id);
      if (at === undefined) continue;
      if (seen) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      const recipient = at === line.offset ? entry.recipient : await stateNow(id);
      if (recipient) yield { recipient, at: entry.at };
    }
  }

  /**
   * Rewrites the file as one `add` per current recipient, in order, then points the index and the
   * lookups at it. Both are built anew from the lines as read, so that they share one string per id.
   */
  async function compact(dedupe = false): Promise<void> {
    const next = new Map<string, number>();
    const nextLookups = createLookups();
    let size = 0;
    async function* lines(): AsyncGenerator<string> {
      for await (const { recipient, at } of current(dedupe)) {
        nextLookups.add(recipient);
        const reports = bounceReports.get(recipient.id);
        const entry: LogEntry = { op: 'add', at, recipient, ...(reports?.size ? { bounce_reports: [...reports] } : {}) };
        const line = `${JSON.stringify(entry)}\n`;
        next.set(recipient.id, size);
        size += Buffer.byteLength(line);
        yield line;
      }
    }
    await writeFileDurableFrom(file, inPieces(lines(), WRITE_PIECE), PRIVATE_FILE_MODE, () => {
      // Renamed into place: from now on every offset is the new file's (the append log sees the
      // new file at its next write; nothing else reads or writes while this runs).
      index = next;
      generation += 1;
      lookups = nextLookups;
      legacy.clear();
      dead = 0;
      const old = reader;
      reader = null;
      void old?.then((h) => h.close()).catch(() => undefined);
    });
  }

  // The open: where each recipient's current line is.
  let duplicates = false;
  for await (const line of linesOf(file)) {
    const entry = JSON.parse(line.text) as LogEntry;
    const id = idOf(entry);
    const exists = index.has(id);
    const state = stateOf(entry);
    if (entry.op === 'remove' || (!exists && entry.op !== 'add')) {
      // A removal, or a change to no one (removed before it was written): the line is dead, and so is the one it removed.
      dead += exists ? 2 : 1;
      index.delete(id);
      legacy.delete(id);
      if (entry.op === 'remove') bounceReports.delete(id);
      continue;
    }
    if (exists) {
      dead += 1;
      duplicates ||= entry.op === 'add';
    }
    if (entry.op === 'add') for (const report of entry.bounce_reports ?? []) rememberReport(id, report);
    if (entry.op === 'bounce' && entry.report !== undefined && (state ?? (await stateNow(id)))?.type === 'email') rememberReport(id, entry.report);
    if (state) {
      index.set(id, line.offset);
      legacy.delete(id);
      // While every line so far is the first `add` of its recipient, the lookups are exact (and
      // share the index's id strings); after any other line, the compaction below builds them.
      if (dead === 0) lookups.add(state);
    } else if (entry.op === 'update' || entry.op === 'bounce') {
      const before = await stateNow(id);
      const after = before && (entry.op === 'update' ? applyRoutingChanges(before, entry.changes) : before.type === 'email' ? applyHardBounce(before) : before);
      if (after) legacy.set(id, after);
      index.set(id, IN_MEMORY);
    }
  }
  if (dead > 0) await compact(duplicates);

  /**
   * Ops in flight (reads, writes, loops over `all`): what needs the store to itself (a
   * compaction, an import) waits until there are none, and they wait for it.
   */
  let active = 0;
  /** The compaction or import that has the store to itself, or is waiting for ops in flight to end. */
  let sole: Promise<void> | null = null;
  let idle: (() => void) | null = null;
  let compactDue = false;

  async function within<T>(fn: () => Promise<T>): Promise<T> {
    while (sole) await sole;
    active += 1;
    try {
      return await fn();
    } finally {
      left();
    }
  }

  /** An op in flight ended: the last to end lets in what waits to have the store alone. */
  function left(): void {
    active -= 1;
    if (active > 0) return;
    if (idle) idle();
    else if (compactDue) startCompaction();
  }

  /** Runs `fn` with the store to itself: after the ops in flight end, before any that start meanwhile. */
  async function alone<T>(fn: () => Promise<T>): Promise<T> {
    while (sole) await sole;
    const run = (async () => {
      if (active > 0) await new Promise<void>((resolve) => (idle = resolve));
      idle = null;
      return fn();
    })();
    sole = run.then(
      () => undefined,
      () => undefined,
    );
    void sole.finally(() => {
      sole = null;
      if (compactDue && active === 0) startCompaction();
    });
    return run;
  }

  function startCompaction(): void {
    compactDue = false;
    // A failed compaction leaves the old file, whole and indexed: the next write tries again.
    void alone(compact).catch(() => undefined);
  }

  /** Ids whose read-and-write is in flight: a second op on one id waits, so each writes the state the one before left. */
  const busy = new Map<string, Promise<void>>();
  async function exclusive<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    const before = [...new Set(ids.map((id) => busy.get(id)))].filter((p) => p !== undefined);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    for (const id of ids) busy.set(id, mine);
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
      for (const id of ids) if (busy.get(id) === mine) busy.delete(id);
    }
  }

  /** The line at `offset` is now `id`'s state (`after`), or `id` was removed (no `after`). */
  function written(id: string, before: Recipient | undefined, after: Recipient | undefined, offset: number): void {
    if (before && after && sameKeys(before, after)) {
      // A change of routing or status: the lookups stay as they were (and in their order).
      index.set(id, offset);
      legacy.delete(id);
      dead += 1;
    } else {
      rekeyed(id, before, after, offset);
    }
    if (dead >= compactAfter && dead > index.size) compactDue = true;
  }

  function rekeyed(id: string, before: Recipient | undefined, after: Recipient | undefined, offset: number): void {
    if (before) {
      lookups.drop(before);
      dead += 1;
    }
    legacy.delete(id);
    if (after) {
      index.set(id, offset);
      lookups.add(after);
    } else {
      index.delete(id);
      dead += 1;
    }
  }

  const op = <T>(id: string, fn: () => Promise<T>) => within(() => exclusive([id], fn));
  const now = () => new Date().toISOString();

  async function matching<T extends Recipient>(ids: readonly string[], keep: (r: Recipient) => r is T): Promise<T[]> {
    const found: T[] = [];
    for (const id of ids) {
      const r = await stateNow(id);
      if (r && keep(r)) found.push(r);
    }
    return found;
  }

  /**
   * Changes Redis missed since the last sync (a mirror write that failed while Redis was away).
   * One at open: the process before may have stopped between its log write and its Redis write.
   */
  let mirrorMisses = 1;
  const mirrorFailed = () => {
    mirrorMisses += 1;
  };

  const store: RecipientStore = {
    add: (recipient) =>
      op(recipient.id, async () => {
        const before = await stateNow(recipient.id);
        // One `add` per recipient, so that a loop over the file meets it once: a second is a replacement.
        const entry: LogEntry = before ? { op: 'replace', at: now(), recipient } : { op: 'add', at: now(), recipient };
        const [offset] = await log.appendAllAt([entry]);
        written(recipient.id, before, recipient, offset!);
        // Durable first; if Redis is down now, the periodic sync brings it in later.
        await redis.hset(keys.recipients, recipient.id, JSON.stringify(recipient)).catch(mirrorFailed);
      }),
    remove: (id) =>
      op(id, async () => {
        const before = await stateNow(id);
        if (!before) return false;
        const [offset] = await log.appendAllAt([{ op: 'remove', at: now(), id }]);
        written(id, before, undefined, offset!);
        bounceReports.delete(id);
        await redis.hdel(keys.recipients, id).catch(mirrorFailed);
        return true;
      }),
    update: (id, changes) =>
      op(id, async () => {
        const before = await stateNow(id);
        if (!before) return undefined;
        const updated = applyRoutingChanges(before, changes);
        const [offset] = await log.appendAllAt([{ op: 'update', at: now(), id, changes, recipient: updated }]);
        written(id, before, updated, offset!);
        await redis.hset(keys.recipients, id, JSON.stringify(updated)).catch(mirrorFailed);
        return updated;
      }),
    importRecipients: (writes) =>
      alone(async () => {
        const at = now();
        async function* entries(): AsyncGenerator<LogEntry> {
          // Nothing else writes meanwhile: states read ahead are still current when their turn comes.
          const stateBefore = (write: ImportWrite) => {
            if ('add' in write) return Promise.resolve(undefined);
            if (write.read && write.read.recipient.id === write.id && write.read.file === generation && index.get(write.id) === write.read.at) return Promise.resolve(write.read.recipient);
            return stateNow(write.id);
          };
          for await (const [write, before] of readAhead(writes, READ_AHEAD, stateBefore)) {
            if ('add' in write) {
              yield { op: 'add', at, recipient: write.add };
              continue;
            }
            // A recipient removed since the import was checked stays removed.
            if (!before) continue;
            const after = write.next(before);
            if (JSON.stringify(after) !== JSON.stringify(before)) yield { op: 'replace', at, recipient: after };
          }
        }
        const range = await log.appendEach(entries());
        // Read back from the file: the import is held nowhere else. The lines are durable now, and
        // a recipient the index missed would get no notice until the next start: a read that
        // fails part-way is taken up again where it stopped (each line is applied once).
        let chunk: string[] = [];
        let from = range.start;
        for (let attempt = 1; from < range.end; attempt++) {
          try {
            for await (const { offset, text } of readBack(file, { start: from, end: range.end })) {
              const recipient = stateOf(JSON.parse(text) as LogEntry)!;
              // An import changes neither where a recipient's notices go nor its token (it is
              // matched by its target): what the index holds stays right without reading the old line.
              if (index.has(recipient.id)) {
                index.set(recipient.id, offset);
                legacy.delete(recipient.id);
                dead += 1;
              } else {
                written(recipient.id, undefined, recipient, offset);
              }
              from = offset + Buffer.byteLength(text) + 1;
              chunk.push(recipient.id, JSON.stringify(recipient));
              // In chunks, so that no one Redis command carries the whole import.
              if (chunk.length >= 2 * REDIS_CHUNK) {
                // Durable first; if Redis is down now, the periodic sync brings them in later.
                await redis.hset(keys.recipients, ...chunk).catch(mirrorFailed);
                chunk = [];
              }
            }
            break;
          } catch (err) {
            if (attempt >= READ_BACK_ATTEMPTS) throw new ImportReadBackError(from, range, { cause: err });
          }
        }
        if (chunk.length > 0) await redis.hset(keys.recipients, ...chunk).catch(mirrorFailed);
        if (dead >= compactAfter && dead > index.size) compactDue = true;
      }),
    recordHardBounce: (id, status, report) =>
      op(id, async () => {
        const before = await stateNow(id);
        if (before?.type !== 'email') return undefined;
        // Under the recipient's turn: the same report arriving meanwhile (a relay's retry racing
        // its first POST) waits for the first, then finds it counted.
        if (report !== undefined) {
          if (bounceReports.get(id)?.has(report)) return { recipient: before, duplicate: true };
          rememberReport(id, report);
        }
        const bounced = applyHardBounce(before);
        let offset: number;
        try {
          [offset] = (await log.appendAllAt([{ op: 'bounce', at: now(), id, status, ...(report !== undefined ? { report } : {}), recipient: bounced }])) as [number];
        } catch (err) {
          if (report !== undefined) bounceReports.get(id)?.delete(report);
          throw err;
        }
        written(id, before, bounced, offset);
        await redis.hset(keys.recipients, id, JSON.stringify(bounced)).catch(mirrorFailed);
        return { recipient: bounced, duplicate: false };
      }),
    get: (id) => within(() => stateNow(id)),
    has: (id) => index.has(id),
    findByAddress: (address) =>
      within(() => {
        const wanted = address.toLowerCase();
        return matching(lookups.byTarget.candidates(`email ${wanted}`), (r): r is RecipientOf<'email'> => r.type === 'email' && r.address.toLowerCase() === wanted);
      }),
    findByUnsubscribeToken: (token) =>
      within(async () => (await matching(lookups.byToken.candidates(token), (r): r is RecipientOf<'email'> => r.type === 'email' && r.unsubscribe_token === token))[0]),
    findByTarget: (key) =>
      within(async () => {
        const found: ReadRecipient[] = [];
        for (const id of lookups.byTarget.candidates(key)) {
          const at = index.get(id);
          const recipient = await stateNow(id);
          if (recipient && at !== undefined && targetKey(recipient) === key) found.push({ recipient, at, file: generation });
        }
        return found;
      }),
    async *all() {
      while (sole) await sole;
      active += 1;
      try {
        for await (const { recipient } of current()) yield recipient;
      } finally {
        left();
      }
    },
    counts: () => ({ ...lookups.counts }),
    mirrorBehind: () => mirrorMisses > 0,
    async syncToRedis(client) {
      // A write that misses Redis while this runs may come after the sync read its recipient.
      const missesBefore = mirrorMisses;
      let chunk: string[] = [];
      for await (const r of store.all()) {
        chunk.push(r.id, JSON.stringify(r));
        if (chunk.length >= 2 * REDIS_CHUNK) {
          await client.hset(keys.recipients, ...chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) await client.hset(keys.recipients, ...chunk);
      // Redis now holds every recipient: more entries than that are stale ones (removed while
      // Redis was away), looked for a page at a time only then, since the scan reads every value too.
      if ((await client.hlen(keys.recipients)) > index.size) {
        let cursor = '0';
        do {
          const [next, fieldsAndValues] = await client.hscan(keys.recipients, cursor, 'COUNT', REDIS_CHUNK);
          cursor = next;
          const stale = fieldsAndValues.filter((id, i) => i % 2 === 0 && !index.has(id));
          if (stale.length > 0) await client.hdel(keys.recipients, ...stale);
        } while (cursor !== '0');
      }
      // Last, so that it is there only when everything before it is.
      await client.set(keys.recipientsSynced, new Date().toISOString());
      if (mirrorMisses === missesBefore) mirrorMisses = 0;
    },
    async close() {
      while (sole) await sole;
      await log.close();
      await (await reader)?.close();
      reader = null;
    },
  };
  return store;
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
