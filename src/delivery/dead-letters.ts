import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { DeliveryStateStore } from './delivery-state';
import type { DeliveryState, RecipientStates } from './delivery-status';
import { audienceStates } from './audience-states';
import type { DeliveryReceipts } from './receipts';
import type { SettleReading } from './settle-reading';

/** Name of the archive mark written once every recipient of a revision is delivered or failed. */
export const SETTLED_MARK = 'settled';

/**
 * What the settled mark holds. A revision is settled only once its durable receipts alone hold
 * every final outcome (`receipts_complete`), so the mark keeps just the counts: the receipts are
 * the record, and a Redis that loses its data turns neither "delivered" back into "pending" nor a
 * dead letter into nothing. Older marks kept every recipient's final state (`deliveries`), or only
 * the failed ones (`failed`); they are still read.
 */
export interface SettledMark {
  at: string;
  receipts_complete?: true;
  /** How many recipients ended delivered and failed (with `receipts_complete`). */
  counts?: { delivered: number; failed: number };
  deliveries?: Partial<Record<ChannelName, Record<string, DeliveryState>>>;
  failed?: ({ channel: ChannelName; recipient: string } & DeliveryState)[];
}

/** The final states a settled mark kept for one channel (failed only, for the older marks). */
export function markedStates(mark: SettledMark | null, channel: ChannelName): Map<string, DeliveryState> {
  const kept = mark?.deliveries?.[channel];
  if (kept) return new Map(Object.entries(kept));
  const out = new Map<string, DeliveryState>();
  for (const { channel: c, recipient, ...state } of mark?.failed ?? []) if (c === channel) out.set(recipient, state);
  return out;
}

/** One delivery that ended failed, as an operator sees it: recipients by id, never a secret. */
export interface DeadLetter {
  advisory: string;
  revision: number;
  channel: ChannelName;
  recipient: string;
  attempts: number;
  updated_at: string;
  last_error?: string;
  replays?: number;
  replayed_at?: string;
}

export interface DeliveryViewDeps {
  archive: AdvisoryArchive;
  states: DeliveryStateStore;
  receipts: DeliveryReceipts;
}

/**
 * Every recipient's state of one revision: the settled mark's, then the receipts', then Redis's,
 * each later one taking a recipient's place where it is further along (see `supersedes`).
 */
export interface RevisionView {
  ref: AdvisoryRef;
  audience: Audience;
  mark: SettledMark | null;
  /** Per channel with an audience, the states of its recipients (none outside it). */
  states: Map<ChannelName, RecipientStates>;
}

export async function loadRevisionView(deps: DeliveryViewDeps, ref: AdvisoryRef, only?: ChannelName, known?: Audience): Promise<RevisionView> {
  const audience = known ?? (await deps.archive.audience(ref));
  const mark = (await deps.archive.readMark(ref, SETTLED_MARK)) as SettledMark | null;
  // Kept by place in the audience (audience-states.ts): at 100,000 recipients a map of state
  // objects is about 17 MiB, and anyone may ask for this view.
  const states = audienceStates(audience, only);
  for (const [channel, byPlace] of states) for (const [id, s] of markedStates(mark, channel)) byPlace.set(id, s);
  await deps.receipts.foldInto(ref, (channel) => states.get(channel));
  // Redis is the freshest where it still has a state (a replay after settling writes there); the
  // receipts keep what a Redis data loss took, an older mark what older versions kept. Redis's
  // states come a chunk at a time: the whole hash in one reply is tens of MiB at 100,000.
  for (const [channel, byPlace] of states) {
    for await (const chunk of deps.states.scan(channel, ref)) for (const [id, s] of chunk) byPlace.fold(id, s);
  }
  return { ref, audience, mark, states };
}

export function deadLettersOf(view: RevisionView): DeadLetter[] {
  const out: DeadLetter[] = [];
  for (const [channel, states] of view.states) {
    for (const id of view.audience[channel] ?? []) {
      const s = states.get(id);
      if (s?.state !== 'failed') continue;
      out.push({
        advisory: view.ref.id,
        revision: view.ref.revision,
        channel,
        recipient: id,
        attempts: s.attempts,
        updated_at: s.updated_at,
        ...(s.last_error !== undefined ? { last_error: s.last_error } : {}),
        ...(s.replays !== undefined ? { replays: s.replays } : {}),
        ...(s.replayed_at !== undefined ? { replayed_at: s.replayed_at } : {}),
      });
    }
  }
  return out;
}

export interface DeadLetterFilter {
  advisory?: string;
  revision?: number;
  channel?: ChannelName;
}

/** Every failed delivery, oldest advisory first, from Redis and the archive's settled marks. */
export async function listDeadLetters(deps: DeliveryViewDeps, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (const record of await deps.archive.records()) {
    if (filter.advisory !== undefined && record.id !== filter.advisory) continue;
    if (filter.revision !== undefined && record.revision !== filter.revision) continue;
    out.push(...deadLettersOf(await loadRevisionView(deps, record, filter.channel)));
  }
  return out;
}

/** The settled mark of a revision whose reading says it is settled (see settle-reading.ts). */
export function settledMarkOf(reading: Pick<SettleReading, 'delivered' | 'failed'>, at = new Date()): SettledMark {
  return { at: at.toISOString(), receipts_complete: true, counts: { delivered: reading.delivered, failed: reading.failed } };
}
