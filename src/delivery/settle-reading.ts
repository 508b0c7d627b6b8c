import { createHash } from 'node:crypto';
import type { AdvisoryRef } from '../advisory/record';
import { channelNames } from '../channels/channel-names';
import type { Audience } from '../storage/advisory-archive';
import type { DeliveryStateStore } from './delivery-state';
import { packOutcome, receiptOf, supersedes, unpackOutcome, type DeliveryReceipt, type DeliveryReceipts, type Outcome } from './receipts';

/** What deciding that a revision is settled rests on (see {@link readSettlement}). */
export interface SettleReading {
  /** Recipients of the audience not yet delivered or failed, by the receipts with Redis's states over them. */
  open: number;
  /** The outcomes Redis knows and the receipts on disk do not yet (their receipts are on the way), as receipts. */
  aheadOfReceipts: DeliveryReceipt[];
  /** Recipients delivered and failed, by the same reading as `open`. */
  delivered: number;
  failed: number;
  /** A digest of every recipient's outcome (its state and replay generation): equal digests, no outcome moved. */
  outcomes: string;
}

/** True when the revision may be marked settled: every outcome final and already in the durable receipts. */
export const isSettled = (r: SettleReading): boolean => r.open === 0 && r.aheadOfReceipts.length === 0;

const sameOutcome = (a: Outcome, b: Outcome | undefined) => b !== undefined && a.state === b.state && (a.replays ?? 0) === (b.replays ?? 0);

/**
 * Reads a revision's receipts, then Redis's states over them a chunk at a time (HSCAN), and
 * counts what settling needs without keeping any of it: the most held at once is one channel's
 * outcomes (a number per recipient, see packOutcome), never the states themselves, a Redis reply
 * of the whole hash or a list of the audience's states. A revision is settled only once its receipts alone hold every
 * final outcome, so that the settled mark need not keep the states (a Redis that loses its data
 * loses nothing the receipts do not keep).
 */
export async function readSettlement(deps: { receipts: DeliveryReceipts; states: DeliveryStateStore }, ref: AdvisoryRef, audience: Audience): Promise<SettleReading> {
  const reading: SettleReading = { open: 0, aheadOfReceipts: [], delivered: 0, failed: 0, outcomes: '' };
  const digest = createHash('sha256');
  const receipts = await deps.receipts.outcomesOf(ref);
  for (const channel of channelNames) {
    const ids = audience[channel] ?? [];
    if (ids.length === 0) continue;
    const outcomes = receipts.get(channel) ?? new Map<string, number>();
    receipts.delete(channel);
    for await (const chunk of deps.states.scan(channel, ref)) {
      for (const [id, s] of chunk) {
        const packed = outcomes.get(id);
        const held = packed === undefined ? undefined : unpackOutcome(packed);
        if (!supersedes(s, held)) continue;
        if ((s.state === 'delivered' || s.state === 'failed') && !sameOutcome(s, held)) reading.aheadOfReceipts.push(receiptOf(channel, ref, id, s));
        outcomes.set(id, packOutcome(s));
      }
    }
    for (const id of ids) {
      const packed = outcomes.get(id);
      const s = packed === undefined ? undefined : unpackOutcome(packed);
      if (s?.state === 'delivered') reading.delivered += 1;
      else if (s?.state === 'failed') reading.failed += 1;
      else reading.open += 1;
      digest.update(`${channel}\0${id}\0${s?.state ?? 'pending'}\0${s?.replays ?? 0}\n`);
    }
  }
  reading.outcomes = digest.digest('hex');
  return reading;
}
