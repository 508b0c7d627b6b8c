import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { RecipientFilter } from '../recipients/recipient';
import { createAppendLog } from '../storage/append-log';

/** How long a confirmation link works: long enough for a weekend, short enough that a stale mailbox does not confirm. */
export const CONFIRMATION_TTL_MS = 48 * 60 * 60 * 1000;
/** How long a used or expired link is still told apart from one that never existed, so its page can say which. */
const REMEMBER_MS = 7 * 24 * 60 * 60 * 1000;

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
 * confirms nobody.
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
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export async function openPendingSubscriptions(dataDir: string, now: () => number): Promise<PendingSubscriptions> {
  const log = createAppendLog<LogEntry>(path.join(dataDir, 'subscriptions.jsonl'));
  const held = new Map<string, Held>();
  const apply = (entry: LogEntry) => {
    if (entry.op === 'pending') held.set(entry.hash, { address: entry.address, ...(entry.filter ? { filter: entry.filter } : {}), expiresAt: entry.expires_at, used: false });
    else {
      const h = held.get(entry.hash);
      if (h) h.used = true;
    }
  };
  for (const entry of await log.readAll()) apply(entry);
  /** Forgets what is long past its expiry, so memory holds only what can still matter. */
  const prune = () => {
    const t = now();
    for (const [hash, h] of held) if (h.expiresAt + REMEMBER_MS < t) held.delete(hash);
  };
  prune();

  return {
    async add(address, filter) {
      prune();
      const token = randomBytes(32).toString('base64url');
      const entry: LogEntry = { op: 'pending', hash: hashOf(token), address, ...(filter ? { filter } : {}), expires_at: now() + CONFIRMATION_TTL_MS };
      await log.append(entry);
      apply(entry);
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
      const entry: LogEntry = { op: 'used', hash: hashOf(token), at: now() };
      await log.append(entry);
      apply(entry);
    },
    size() {
      const t = now();
      let n = 0;
      for (const h of held.values()) if (!h.used && t < h.expiresAt) n++;
      return n;
    },
    close: () => log.close(),
  };
}
