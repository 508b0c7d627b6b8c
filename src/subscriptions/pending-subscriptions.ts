import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RecipientFilter } from '../recipients/recipient';
import { createAppendLog } from '../storage/append-log';
import { writeFileDurable } from '../storage/durable-file';

/** How long a confirmation link works: long enough for a weekend, short enough that a stale mailbox does not confirm. */
export const CONFIRMATION_TTL_MS = 48 * 60 * 60 * 1000;
/** How long a used or expired link is still told apart from one that never existed, so its page can say which. */
const REMEMBER_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * Lines the file may hold beyond twice what is remembered before it is rewritten: a small file is
 * not worth a rewrite, and a large one is rewritten only once most of it is dead, so rewrites
 * cost little next to the appends they follow.
 */
const COMPACT_SLACK_LINES = 64;

/** What someone asked for, not yet confirmed: never a recipient, so nothing routes to it. */
export interface PendingSubscription {
  address: string;
  filter?: RecipientFilter;
  /** ms since the epoch. */
  expiresAt: number;
}

/** What a confirmation link is worth now. */
export type LinkState =
  | { state: 'valid'; pending: PendingSubscription }
  | { state: 'used' }
  | { state: 'expired' }
  | { state: 'unknown' };

/**
 * Subscriptions waiting for their owner to confirm them, durable in
 * TOCSIN_DATA_DIR/subscriptions.jsonl so that a restart does not break links already mailed.
 * The file holds a hash of each link's token, never the token: a copy of the data directory
 * confirms nobody. It is rewritten without the links forgotten (a week past their expiry) at
 * open and whenever most of its lines are forgotten, so it stays the size of what it remembers.
 */
export interface PendingSubscriptions {
  /** Records the request durably; resolves to the token its link carries. */
  add(address: string, filter: RecipientFilter | undefined): Promise<string>;
  /** What the link with this token is worth at this moment. */
  check(token: string): LinkState;
  /** Marks the link used, durably: from now on it is `used`. */
  markUsed(token: string): Promise<void>;
  /** Unconfirmed, unexpired requests held now. */
  size(): number;
  close(): Promise<void>;
}

type LogEntry = { op: 'pending'; hash: string; address: string; filter?: RecipientFilter; expires_at: number } | { op: 'used'; hash: string; at: number };

interface Held extends PendingSubscription {
  used: boolean;
  /** When it was used (ms), kept so that a rewrite says the same as the line it replaces. */
  usedAt?: number;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export async function openPendingSubscriptions(dataDir: string, now: () => number, log: Pick<Logger, 'warn'>): Promise<PendingSubscriptions> {
  const file = path.join(dataDir, 'subscriptions.jsonl');
  const appendLog = createAppendLog<LogEntry>(file);
  const held = new Map<string, Held>();
  const apply = (entry: LogEntry) => {
    if (entry.op === 'pending') held.set(entry.hash, { address: entry.address, ...(entry.filter ? { filter: entry.filter } : {}), expiresAt: entry.expires_at, used: false });
    else {
      const h = held.get(entry.hash);
      if (h) Object.assign(h, { used: true, usedAt: entry.at });
    }
  };
  const entries = await appendLog.readAll();
  for (const entry of entries) apply(entry);
  /** Lines in the file now. */
  let lines = entries.length;
  /** Forgets what is long past its expiry, so memory holds only what can still matter. */
  const prune = () => {
    const t = now();
    for (const [hash, h] of held) if (h.expiresAt + REMEMBER_MS < t) held.delete(hash);
  };
  /** The lines that say what is held: a `pending` each, and a `used` after those used. */
  const liveLines = () => {
    let n = 0;
    for (const h of held.values()) n += h.used ? 2 : 1;
    return n;
  };

  // Appends run together (they share fsyncs); a rewrite waits for those under way and holds back
  // new ones, so that no line lands in the file it replaces.
  const appending = new Set<Promise<void>>();
  let compacting: Promise<void> | null = null;
  async function write(entry: LogEntry): Promise<void> {
    while (compacting) await compacting;
    // Applied before the append counts as done, so a rewrite waiting for it sees it held.
    const done = appendLog.append(entry).then(() => {
      lines += 1;
      apply(entry);
    });
    appending.add(done);
    try {
      await done;
    } finally {
      appending.delete(done);
    }
    if (lines > COMPACT_SLACK_LINES + 2 * liveLines()) await compactOrWarn();
  }
  /** Rewrites the file to hold only what is remembered: a new file renamed over it, fsynced (the append log follows the rename). */
  function compact(): Promise<void> {
    compacting ??= (async () => {
      await Promise.allSettled([...appending]);
      prune();
      const text: string[] = [];
      for (const [hash, h] of held) {
        const pending: LogEntry = { op: 'pending', hash, address: h.address, ...(h.filter ? { filter: h.filter } : {}), expires_at: h.expiresAt };
        text.push(`${JSON.stringify(pending)}\n`);
        if (h.used) text.push(`${JSON.stringify({ op: 'used', hash, at: h.usedAt ?? now() } satisfies LogEntry)}\n`);
      }
      await writeFileDurable(file, text.join(''));
      lines = text.length;
    })().finally(() => {
      compacting = null;
    });
    return compacting;
  }

  /** A rewrite that fails leaves the file as it was (the entries are durable already): it is tried again later. */
  const compactOrWarn = () =>
    compact().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not rewrite subscriptions.jsonl without its forgotten links; it stays as it is'));

  prune();
  if (lines > COMPACT_SLACK_LINES + 2 * liveLines()) await compactOrWarn();

  return {
    async add(address, filter) {
      prune();
      const token = randomBytes(32).toString('base64url');
      await write({ op: 'pending', hash: hashOf(token), address, ...(filter ? { filter } : {}), expires_at: now() + CONFIRMATION_TTL_MS });
      return token;
    },
    check(token) {
      const h = held.get(hashOf(token));
      if (!h) return { state: 'unknown' };
      if (h.used) return { state: 'used' };
      if (now() >= h.expiresAt) return { state: 'expired' };
      return { state: 'valid', pending: { address: h.address, ...(h.filter ? { filter: h.filter } : {}), expiresAt: h.expiresAt } };
    },
    async markUsed(token) {
      await write({ op: 'used', hash: hashOf(token), at: now() });
    },
    size() {
      const t = now();
      let n = 0;
      for (const h of held.values()) if (!h.used && t < h.expiresAt) n++;
      return n;
    },
    async close() {
      while (compacting) await compacting;
      await appendLog.close();
    },
  };
}
