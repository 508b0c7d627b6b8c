import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import type { Audience } from '../storage/advisory-archive';
import type { DeliveryState, DeliveryStatus } from './delivery-status';

/**
 * One outcome a worker recorded for one recipient of one revision over one channel: the delivery
 * state it wrote (delivered, retrying or failed, with its time, attempts and what the peer
 * answered), named by advisory, revision, channel and recipient. The durable record of who was
 * told what and when: one JSON line per receipt in the revision's `receipts.jsonl`.
 */
export type DeliveryReceipt = { advisory: string; revision: number; channel: ChannelName; recipient: string } & DeliveryState;

/** Per channel, recipient id -> the state its receipts add up to. */
export type ReceiptStates = Map<ChannelName, Map<string, DeliveryState>>;

/** What a delivery came to, without its times and details: what decides which state supersedes which. */
export type Outcome = Pick<DeliveryState, 'state' | 'replays'>;

const STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'failed', 'delivered'];

/** An outcome as one number: its replay generation times four plus its state's place. */
export const packOutcome = (o: Outcome): number => (o.replays ?? 0) * 4 + STATUSES.indexOf(o.state);

export const unpackOutcome = (n: number): Outcome => {
  const replays = Math.floor(n / 4);
  return { state: STATUSES[n % 4]!, ...(replays > 0 ? { replays } : {}) };
};

/**
 * Where folding receipts and Redis's states (by {@link supersedes}) puts them: see
 * audience-states.ts. A sink may drop recipients outside its audience: every reader goes by the
 * audience.
 */
export interface StateSink {
  /** Takes `state` as `id`'s where it supersedes what is held (see {@link supersedes}). */
  fold(id: string, state: DeliveryState): void;
}

/**
 * The durable receipts beside the archive. Appends are group-committed: one write and one fsync
 * per revision for everything that arrived together.
 */
export interface DeliveryReceipts {
  /** Resolves once every receipt is on disk. Receipts of a revision the archive does not hold are dropped and returned. */
  append(receipts: readonly DeliveryReceipt[]): Promise<DeliveryReceipt[]>;
  /** What one revision's receipts add up to (see {@link supersedes}), after any append of this process in flight. */
  statesOf(ref: AdvisoryRef): Promise<ReceiptStates>;
  /**
   * Folds one revision's receipts into the sink of each channel (none: that channel's are
   * skipped), a receipt at a time: what {@link statesOf} adds up to, without a map of its own.
   */
  foldInto(ref: AdvisoryRef, sinkOf: (channel: ChannelName) => StateSink | undefined): Promise<void>;
  /**
   * Rewrites a settled revision's receipts as one line per recipient and channel, the state they
   * add up to, replacing the file atomically and durably; what the receipts add up to is unchanged.
   * Given the revision's audience, the states are folded by place in it (audience-states.ts), unless
   * a receipt names someone outside it.
   */
  compact(ref: AdvisoryRef, audience?: Audience): Promise<void>;
  close(): Promise<void>;
}

/** How far along a state is: the order the processors' writes follow (see delivery-state.ts). */
export const STATE_RANK: Record<DeliveryStatus, number> = { pending: 0, retrying: 0, failed: 1, delivered: 2 };

/**
 * True when `next` takes the place of `held`: a later replay generation always does (an
 * operator's replay turns a failed delivery back into `retrying`); within one generation a state
 * never moves back (`delivered` stays, `failed` becomes only `delivered`), as in Redis.
 */
export function supersedes(next: Outcome, held: Outcome | undefined): boolean {
  if (!held) return true;
  const generations = (next.replays ?? 0) - (held.replays ?? 0);
  if (generations !== 0) return generations > 0;
  return STATE_RANK[next.state] >= STATE_RANK[held.state];
}

/** Folds `next` into `into`, state by state, by {@link supersedes}; `into` is changed. */
export function foldStates(into: ReceiptStates, next: ReadonlyMap<ChannelName, ReadonlyMap<string, DeliveryState>>): ReceiptStates {
  for (const [channel, states] of next) {
    let held = into.get(channel);
    if (!held) into.set(channel, (held = new Map()));
    for (const [id, s] of states) if (supersedes(s, held.get(id))) held.set(id, s);
  }
  return into;
}

/** The receipt of one state write. */
export function receiptOf(channel: ChannelName, ref: AdvisoryRef, recipient: string, state: DeliveryState): DeliveryReceipt {
  return { advisory: ref.id, revision: ref.revision, channel, recipient, ...state };
}

/** The state a receipt records, without its names. */
export function stateOf(receipt: DeliveryReceipt): DeliveryState {
  const { advisory: _a, revision: _r, channel: _c, recipient: _id, ...state } = receipt;
  return state;
}
