import { access } from 'node:fs/promises';
import path from 'node:path';
import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import { audienceStates } from '../delivery/audience-states';
import type { DeliveryState } from '../delivery/delivery-status';
import { foldStates, receiptOf, stateOf, supersedes, type DeliveryReceipt, type DeliveryReceipts, type ReceiptStates } from '../delivery/receipts';
import { RECORD_FILE, revisionDir, type Audience } from './advisory-archive';
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

  /**
   * The compacted file's lines, folded by place in the audience (1.4 MiB at 100,000 delivered
   * recipients, against 17 MiB for a map of states), null when the file holds one line per
   * recipient already; or `outside` when a receipt names someone outside the audience, whose line
   * must be kept too: then {@link linesOfEveryone}.
   */
  async function linesByPlace(ref: AdvisoryRef, audience: Audience): Promise<{ lines: Iterable<string> | null } | 'outside'> {
    const states = audienceStates(audience);
    let receipts = 0;
    let recipients = 0;
    let outside = false;
    await eachReceiptSince(fileOf(ref), null, (receipt) => {
      receipts += 1;
      const sink = states.get(receipt.channel);
      if (!sink || sink.index.slotOf(receipt.recipient) < 0) {
        outside = true;
        return;
      }
      const held = sink.outcome(receipt.recipient);
      if (held === undefined) recipients += 1;
      const state = stateOf(receipt);
      if (supersedes(state, held)) sink.set(receipt.recipient, state);
    });
    if (outside) return 'outside';
    if (recipients === 0 || receipts === recipients) return { lines: null };
    function* lines(): Generator<string> {
      for (const [channel, sink] of states) {
        for (let slot = 0; slot < sink.index.size; slot++) {
          const state = sink.at(slot);
          if (state) yield `${JSON.stringify(receiptOf(channel, ref, sink.index.ids[slot]!, state))}\n`;
        }
      }
    }
    return { lines: lines() };
  }

  /** As {@link linesByPlace}, for receipts of anyone: a map of every state. */
  async function linesOfEveryone(ref: AdvisoryRef): Promise<Iterable<string> | null> {
    const counted = { receipts: 0 };
    const { states } = await readNew(ref, undefined, counted);
    if (states.size === 0 || counted.receipts === stateCount(states)) return null;
    // Written a piece at a time: the lines of a large audience are never one string.
    return (function* lines(): Generator<string> {
      for (const [channel, byRecipient] of states) {
        for (const [recipient, state] of byRecipient) yield `${JSON.stringify(receiptOf(channel, ref, recipient, state))}\n`;
      }
    })();
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

    async foldInto(ref, sinkOf) {
      const fold = (channel: ChannelName, id: string, state: DeliveryState) => sinkOf(channel)?.fold(id, state);
      const key = keyOf(ref);
      if (folded.has(key)) {
        const { states } = await foldedNow(ref);
        for (const [channel, byRecipient] of states) for (const [id, state] of byRecipient) fold(channel, id, state);
        return;
      }
      await writing.get(key);
      await eachReceiptSince(fileOf(ref), null, (receipt) => fold(receipt.channel, receipt.recipient, stateOf(receipt)));
    },

    async compact(ref, audience) {
      const key = keyOf(ref);
      if (!(await isArchived(ref))) return;
      // After this process's appends in flight, and before any that come next: they go to the new file.
      const done = (writing.get(key) ?? Promise.resolve()).then(async () => {
        const open = logs.get(key);
        logs.delete(key);
        await open?.close();
        const byPlace = audience ? await linesByPlace(ref, audience) : 'outside';
        const lines = byPlace === 'outside' ? await linesOfEveryone(ref) : byPlace.lines;
        // Already one line per recipient and channel (every first attempt settled it): nothing to
        // rewrite. At 100,000 recipients that is 20 MB not written and fsynced again.
        if (lines === null) return;
        await writeFileDurableFrom(fileOf(ref), inPieces(lines, COMPACT_PIECE));
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
