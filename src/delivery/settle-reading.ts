import { createHash } from 'node:crypto';
import type { AdvisoryRef } from '../advisory/record';
import type { Audience } from '../storage/advisory-archive';
import { audienceOutcomes } from './audience-states';
import type { DeliveryStateStore } from './delivery-state';
import { receiptOf, supersedes, type DeliveryReceipt, type DeliveryReceipts, type Outcome } from './receipts';

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
 * counts what settling needs without keeping any of it: the most held at once is one outcome
 * (a number) per recipient of the audience, by its place in it (audience-states.ts), never the
 * states themselves, a Redis reply of the whole hash or a map of the audience. A revision is
 * settled only once its receipts alone hold every final outcome, so that the settled mark need
 * not keep the states (a Redis that loses its data loses nothing the receipts do not keep).
 */
export async function readSettlement(deps: { receipts: DeliveryReceipts; states: DeliveryStateStore }, ref: AdvisoryRef, audience: Audience): Promise<SettleReading> {
  const reading: SettleReading = { open: 0, aheadOfReceipts: [], delivered: 0, failed: 0, outcomes: '' };
  const digest = createHash('sha256');
  const outcomes = audienceOutcomes(audience);
  await deps.receipts.foldInto(ref, (channel) => outcomes.get(channel));
  for (const [channel, byPlace] of outcomes) {
    for await (const chunk of deps.states.scan(channel, ref)) {
      for (const [id, s] of chunk) {
        if (byPlace.index.slotOf(id) < 0) continue;
        const held = byPlace.outcome(id);
        if (!supersedes(s, held)) continue;
        if ((s.state === 'delivered' || s.state === 'failed') && !sameOutcome(s, held)) reading.aheadOfReceipts.push(receiptOf(channel, ref, id, s));
        byPlace.set(id, s);
      }
    }
    byPlace.index.ids.forEach((id, slot) => {
      const s = byPlace.at(slot);
      if (s?.state === 'delivered') reading.delivered += 1;
      else if (s?.state === 'failed') reading.failed += 1;
      else reading.open += 1;
      digest.update(`${channel}\0${id}\0${s?.state ?? 'pending'}\0${s?.replays ?? 0}\n`);
    });
  }
  reading.outcomes = digest.digest('hex');
  return reading;
}

/** How many of the audience's recipients are not yet delivered or failed, by the receipts alone. */
export async function openByReceipts(receipts: DeliveryReceipts, ref: AdvisoryRef, audience: Audience): Promise<number> {
  const outcomes = audienceOutcomes(audience);
  await receipts.foldInto(ref, (channel) => outcomes.get(channel));
  let open = 0;
  for (const byPlace of outcomes.values()) {
    for (let slot = 0; slot < byPlace.index.size; slot++) {
      const state = byPlace.at(slot)?.state;
      if (state !== 'delivered' && state !== 'failed') open += 1;
    }
  }
  return open;
}
