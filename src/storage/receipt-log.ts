import { access } from 'node:fs/promises';
import path from 'node:path';
import type { AdvisoryRef } from '../advisory/record';
import { foldStates, packOutcome, receiptOf, stateOf, supersedes, unpackOutcome, type DeliveryReceipt, type DeliveryReceipts, type ReceiptOutcomes, type ReceiptStates } from '../delivery/receipts';
import { RECORD_FILE, revisionDir } from './advisory-archive';
import { createAppendLog, type AppendLog } from './append-log';
import { fsyncDir, writeFileDurableFrom } from './durable-file';
import { inPieces } from '../util/text-pieces';
import { eachReceiptSince, type ReceiptFilePosition } from './receipt-file';

/** The receipts file in each revision's directory of the archive. */
export const RECEIPTS_FILE = 'receipts.jsonl';

/** Revisions whose receipt files stay open for appending, and whose folded states stay in memory. */
const OPEN_LOGS = 32;
const FOLDED_REVISIONS = 16;
/**
 * At most this many folded states are kept, over all revisions: a revision with a larger audience
 * is read again from its start when asked (rarely: see the reconciler's settle check), rather than
 * held in memory that grows with the audience.
 */
const FOLDED_STATES = 20_000;
/** What a compaction writes at once. */
const COMPACT_PIECE = 256 * 1024;

const stateCount = (states: ReceiptStates) => [...states.values()].reduce((n, byRecipient) => n + byRecipient.size, 0);

const keyOf = (ref: AdvisoryRef) => `${ref.id}:${ref.revision}`;

interface Folded {
  position: ReceiptFilePosition;
  states: ReceiptStates;
}

/** Keeps at most `max` entries, dropping the least recently set. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number, dropped?: (v: V) => void): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const [oldest, v] = map.entries().next().value as [string, V];
    map.delete(oldest);
    dropped?.(v);
  }
}

/**
 * Receipts as JSON lines in TOCSIN_DATA_DIR/advisories/<id>/<revision>/receipts.jsonl, beside the
 * revision they belong to, through the group-committed append log. Reading folds a file once and
 * then only the bytes added since, so a fan-out's check "is every recipient settled?" after each
 * commit costs what that commit added, even when another process appends to the same file.
 */
export interface ReceiptLogOptions {
  /** Folded states kept in memory over all revisions; default {@link FOLDED_STATES}. */
  foldedStates?: number;
}

export function createReceiptLog(dataDir: string, options: ReceiptLogOptions = {}): DeliveryReceipts {
  const foldedStates = options.foldedStates ?? FOLDED_STATES;
  const logs = new Map<string, AppendLog<DeliveryReceipt>>();
  const archived = new Set<string>();
  const writing = new Map<string, Promise<unknown>>();
  const folded = new Map<string, Folded>();
  const fileOf = (ref: AdvisoryRef) => path.join(revisionDir(dataDir, ref), RECEIPTS_FILE);
  const exists = (file: string) => access(file).then(() => true, () => false);

  /** Only into a complete revision directory: a stray receipt must not make one the archive would then refuse to create. */
  async function isArchived(ref: AdvisoryRef): Promise<boolean> {
    const key = keyOf(ref);
    if (archived.has(key)) return true;
    if (!(await exists(path.join(revisionDir(dataDir, ref), RECORD_FILE)))) return false;
    archived.add(key);
    return true;
  }

  async function appendTo(ref: AdvisoryRef, receipts: DeliveryReceipt[]): Promise<void> {
    const key = keyOf(ref);
    const file = fileOf(ref);
    let log = logs.get(key);
    // The first receipt creates the file: its directory entry is synced too, or a power loss could drop the file.
    const creating = !log && !(await exists(file));
    if (!log) remember(logs, key, (log = createAppendLog<DeliveryReceipt>(file)), OPEN_LOGS, (l) => void l.close());
    await log.appendAll(receipts);
    if (creating) await fsyncDir(path.dirname(file));
  }

  /** Folds what was appended since `from` into its states; from the start, into new ones (never a second copy of a large audience's). */
  async function readNew(ref: AdvisoryRef, from: Folded | undefined, counted?: { receipts: number }): Promise<Folded> {
    const add: ReceiptStates = new Map();
    const read = await eachReceiptSince(fileOf(ref), from?.position ?? null, (receipt) => {
      if (counted) counted.receipts += 1;
      let held = add.get(receipt.channel);
      if (!held) add.set(receipt.channel, (held = new Map()));
      const state = stateOf(receipt);
      if (supersedes(state, held.get(receipt.recipient))) held.set(receipt.recipient, state);
    });
    if (read.fromStart || !from) return { position: read.position, states: add };
    return { position: read.position, states: foldStates(from.states, add) };
  }

  /** The revision's states brought up to date, kept folded if small enough: the cached maps themselves, not to be changed. */
  async function foldedNow(ref: AdvisoryRef): Promise<{ states: ReceiptStates; kept: boolean }> {
    const key = keyOf(ref);
    await writing.get(key);
    const next = await readNew(ref, folded.get(key));
    folded.delete(key);
    if (stateCount(next.states) > foldedStates) return { states: next.states, kept: false };
    remember(folded, key, next, FOLDED_REVISIONS);
    while ([...folded.values()].reduce((n, f) => n + stateCount(f.states), 0) > foldedStates) folded.delete(folded.keys().next().value as string);
    return { states: next.states, kept: true };
  }

  async function statesOf(ref: AdvisoryRef): Promise<ReceiptStates> {
    const { states, kept } = await foldedNow(ref);
    // A copy of what stays cached: callers merge into what they get.
    return kept ? new Map([...states].map(([channel, byRecipient]) => [channel, new Map(byRecipient)])) : states;
  }

  return {
    async append(receipts) {
      const byRevision = new Map<string, DeliveryReceipt[]>();
      for (const r of receipts) {
        const key = keyOf({ id: r.advisory, revision: r.revision });
        byRevision.set(key, [...(byRevision.get(key) ?? []), r]);
      }
      const dropped: DeliveryReceipt[] = [];
      await Promise.all(
        [...byRevision.values()].map(async (group) => {
          const ref = { id: group[0]!.advisory, revision: group[0]!.revision };
          if (!(await isArchived(ref))) {
            dropped.push(...group);
            return;
          }
          const key = keyOf(ref);
          const done = (writing.get(key) ?? Promise.resolve()).then(() => appendTo(ref, group));
          const settled = done.catch(() => undefined);
          writing.set(key, settled);
          void settled.then(() => writing.get(key) === settled && writing.delete(key));
          await done;
        }),
      );
      return dropped;
    },

    statesOf,

    async outcomesOf(ref) {
      const key = keyOf(ref);
      // A revision small enough to keep folded is read from where the last read stopped.
      if (folded.has(key)) {
        const { states } = await foldedNow(ref);
        return new Map([...states].map(([channel, byRecipient]) => [channel, new Map([...byRecipient].map(([id, st]) => [id, packOutcome(st)]))]));
      }
      await writing.get(key);
      const out: ReceiptOutcomes = new Map();
      await eachReceiptSince(fileOf(ref), null, (receipt) => {
        let held = out.get(receipt.channel);
        if (!held) out.set(receipt.channel, (held = new Map()));
        const now = held.get(receipt.recipient);
        if (now === undefined || supersedes(receipt, unpackOutcome(now))) held.set(receipt.recipient, packOutcome(receipt));
      });
      return out;
    },

    async compact(ref) {
      const key = keyOf(ref);
      if (!(await isArchived(ref))) return;
      // After this process's appends in flight, and before any that come next: they go to the new file.
      const done = (writing.get(key) ?? Promise.resolve()).then(async () => {
        const open = logs.get(key);
        logs.delete(key);
        await open?.close();
        const file = fileOf(ref);
        const counted = { receipts: 0 };
        const { states } = await readNew(ref, undefined, counted);
        // Already one line per recipient and channel (every first attempt settled it): nothing to
        // rewrite. At 100,000 recipients that is 20 MB not written and fsynced again.
        if (states.size === 0 || counted.receipts === stateCount(states)) return;
        // Written a piece at a time: the lines of a large audience are never one string.
        function* lines(): Generator<string> {
          for (const [channel, byRecipient] of states) {
            for (const [recipient, state] of byRecipient) yield `${JSON.stringify(receiptOf(channel, ref, recipient, state))}\n`;
          }
        }
        await writeFileDurableFrom(file, inPieces(lines(), COMPACT_PIECE));
      });
      const settled = done.catch(() => undefined);
      writing.set(key, settled);
      void settled.then(() => writing.get(key) === settled && writing.delete(key));
      await done;
    },

    async close() {
      await Promise.all([...writing.values()]);
      await Promise.all([...logs.values()].map((l) => l.close()));
      logs.clear();
    },
  };
}
