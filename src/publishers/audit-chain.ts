import { createHash } from 'node:crypto';

/** What changed in the set of enrolled publishers. */
export type AuditAction = 'enrol' | 'remove';

/** One line of `audit.jsonl`. */
export interface AuditEntry {
  /** 1 for the first line, then one more per line. */
  seq: number;
  /** ISO 8601 time of the change. */
  at: string;
  /** Who made it: the admin's `X-Tocsin-Actor`, or `filesystem` for a key file placed or deleted by hand. */
  actor: string;
  action: AuditAction;
  /** Uppercase hex fingerprint of the publisher's primary key. */
  fingerprint: string;
  /** `hash` of the previous line; {@link GENESIS} for the first. */
  prev: string;
  /** Hex SHA-256 of {@link canonicalEncoding} of this entry. */
  hash: string;
}

export const GENESIS = '0'.repeat(64);

/**
 * The bytes an entry's hash covers: a JSON array in a fixed order, so that the encoding does not
 * depend on how a JSON writer orders object keys. Anyone can recompute it with `jq -c`.
 */
export function canonicalEncoding(e: Omit<AuditEntry, 'hash'>): string {
  return JSON.stringify(['tocsin-audit-v1', e.seq, e.at, e.actor, e.action, e.fingerprint, e.prev]);
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonicalEncoding(e)).digest('hex');
}

/** Builds the entry that follows `head` (null: the first). */
export function nextEntry(head: Pick<AuditEntry, 'seq' | 'hash'> | null, fields: Pick<AuditEntry, 'at' | 'actor' | 'action' | 'fingerprint'>): AuditEntry {
  const body = { seq: (head?.seq ?? 0) + 1, at: fields.at, actor: fields.actor, action: fields.action, fingerprint: fields.fingerprint, prev: head?.hash ?? GENESIS };
  return { ...body, hash: entryHash(body) };
}

export type ChainVerdict =
  | { ok: true; entries: AuditEntry[] }
  /** `line` is 1-based; `entries` are the lines before it, which did verify. */
  | { ok: false; line: number; problem: string; entries: AuditEntry[] };

const HEX64 = /^[0-9a-f]{64}$/;

function shapeProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const e = v as Record<string, unknown>;
  const keys = Object.keys(e).sort().join(',');
  if (keys !== 'action,actor,at,fingerprint,hash,prev,seq') return `has fields ${keys}, expected seq, at, actor, action, fingerprint, prev, hash`;
  if (!Number.isSafeInteger(e.seq)) return 'seq is not an integer';
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) return 'at is not a time';
  if (typeof e.actor !== 'string' || e.actor === '') return 'actor is empty';
  if (e.action !== 'enrol' && e.action !== 'remove') return 'action is neither enrol nor remove';
  if (typeof e.fingerprint !== 'string' || !/^[0-9A-F]{40}([0-9A-F]{24})?$/.test(e.fingerprint)) return 'fingerprint is not an uppercase hex fingerprint';
  if (typeof e.prev !== 'string' || !HEX64.test(e.prev)) return 'prev is not a hex SHA-256';
  if (typeof e.hash !== 'string' || !HEX64.test(e.hash)) return 'hash is not a hex SHA-256';
  return null;
}

/**
 * Checks a whole audit log end to end and names the first line that breaks the chain: an edited
 * field (its hash no longer matches), a deleted, inserted or moved line (seq or prev out of
 * step), a forged hash, a torn last line. What it cannot see alone is lines cut off the end, or a
 * chain rewritten from the start: compare the head with one recorded elsewhere for that.
 */
export function verifyChain(text: string): ChainVerdict {
  const entries: AuditEntry[] = [];
  if (text === '') return { ok: true, entries };
  const lines = text.split('\n');
  const tail = lines.pop();
  if (tail !== '') return { ok: false, line: lines.length + 1, problem: 'truncated: the last line does not end with a newline', entries };
  let prev: AuditEntry | null = null;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    const fail = (problem: string): ChainVerdict => ({ ok: false, line: n, problem, entries });
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return fail('not valid JSON');
    }
    const shape = shapeProblem(parsed);
    if (shape) return fail(shape);
    const e = parsed as AuditEntry;
    const expectedSeq = (prev?.seq ?? 0) + 1;
    if (e.seq !== expectedSeq) return fail(`seq is ${e.seq}, expected ${expectedSeq}: a line was deleted, inserted or moved`);
    if (e.prev !== (prev?.hash ?? GENESIS)) return fail(prev ? `prev does not match the hash of line ${n - 1}: a line before it was changed or replaced` : 'prev of the first line is not the genesis value');
    if (e.hash !== entryHash(e)) return fail('hash does not match the entry: a field was edited or the hash forged');
    entries.push(e);
    prev = e;
  }
  return { ok: true, entries };
}

/** The fingerprints the chain says are enrolled after its last entry. */
export function enrolledBy(entries: readonly AuditEntry[]): Set<string> {
  const set = new Set<string>();
  for (const e of entries) {
    if (e.action === 'enrol') set.add(e.fingerprint);
    else set.delete(e.fingerprint);
  }
  return set;
}
