import { channelNames, type ChannelName } from '../channels/channel-names';
import type { Audience } from '../storage/advisory-archive';
import type { DeliveryState } from './delivery-status';
import { packOutcome, supersedes, unpackOutcome, type Outcome, type StateSink } from './receipts';

/**
 * Per-recipient records of one channel's audience, kept in typed arrays by the recipient's place
 * in the audience rather than in a map of objects by id. At 100,000 recipients a map of state
 * objects measured 17 MiB and a map of packed outcomes 8 MiB; these take 15 and 8 bytes per
 * recipient (1.4 and 0.8 MiB) for every delivered state, and the ids are the audience's own strings.
 */

/** Where a recipient sits in one channel's audience; -1 when it is not in it. */
export class AudienceIndex {
  /** Only for an audience that is not sorted (audience.json lists are): otherwise a binary search. */
  private readonly byId: Map<string, number> | null;

  constructor(readonly ids: readonly string[]) {
    let sorted = true;
    for (let i = 1; i < ids.length && sorted; i++) sorted = ids[i - 1]! < ids[i]!;
    if (sorted) {
      this.byId = null;
      return;
    }
    this.byId = new Map();
    ids.forEach((id, i) => this.byId!.has(id) || this.byId!.set(id, i));
  }

  get size(): number {
    return this.ids.length;
  }

  slotOf(id: string): number {
    if (this.byId) return this.byId.get(id) ?? -1;
    let low = 0;
    let high = this.ids.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const at = this.ids[mid]!;
      if (at === id) return mid;
      if (at < id) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}

/** One outcome (state and replay generation) per recipient of the audience: what counting and settling need. */
export class AudienceOutcomes implements StateSink {
  /** packOutcome + 1 per place; 0 while nothing is known. */
  private readonly packed: Float64Array;

  constructor(readonly index: AudienceIndex) {
    this.packed = new Float64Array(index.size);
  }

  outcome(id: string): Outcome | undefined {
    const slot = this.index.slotOf(id);
    return slot < 0 ? undefined : this.at(slot);
  }

  /** The outcome of the recipient at `slot` of the audience. */
  at(slot: number): Outcome | undefined {
    const n = this.packed[slot] ?? 0;
    return n === 0 ? undefined : unpackOutcome(n - 1);
  }

  set(id: string, state: Outcome): void {
    const slot = this.index.slotOf(id);
    if (slot >= 0) this.packed[slot] = packOutcome(state) + 1;
  }

  fold(id: string, state: Outcome): void {
    const slot = this.index.slotOf(id);
    if (slot >= 0 && supersedes(state, this.at(slot))) this.packed[slot] = packOutcome(state) + 1;
  }
}

/** (0: nothing known.) Delivered, with exactly `{state, attempts, updated_at, detail}` in that order: nearly every recipient. */
const DELIVERED = 1;
/** Anything else, kept as the object it was. */
const OBJECT = 2;
/** Distinct `detail` texts kept once each; past this many, further states are kept as objects. */
const MAX_DETAILS = 4_096;
const DELIVERED_KEYS = ['state', 'attempts', 'updated_at', 'detail'];

/** A time that `new Date(ms).toISOString()` gives back exactly, as every writer of states makes it. */
function canonicalTime(text: string): number | null {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && new Date(ms).toISOString() === text ? ms : null;
}

/**
 * Every recipient's delivery state, the common case (delivered) as numbers and an interned
 * `detail`, given back as an equal object with its keys in the same order (the admin read writes
 * them as they are); any other state is kept as the object it was.
 */
export class AudienceStates implements StateSink {
  private readonly kinds: Uint8Array;
  private readonly attempts: Uint32Array;
  private readonly times: Float64Array;
  private readonly detailOf: Uint16Array;
  private readonly details: string[] = [];
  private readonly detailIds = new Map<string, number>();
  private readonly objects = new Map<number, DeliveryState>();

  constructor(readonly index: AudienceIndex) {
    const n = index.size;
    this.kinds = new Uint8Array(n);
    this.attempts = new Uint32Array(n);
    this.times = new Float64Array(n);
    this.detailOf = new Uint16Array(n);
  }

  get(id: string): DeliveryState | undefined {
    const slot = this.index.slotOf(id);
    return slot < 0 ? undefined : this.at(slot);
  }

  /** The state of the recipient at `slot` of the audience. */
  at(slot: number): DeliveryState | undefined {
    switch (this.kinds[slot]) {
      case DELIVERED:
        return { state: 'delivered', attempts: this.attempts[slot]!, updated_at: new Date(this.times[slot]!).toISOString(), detail: this.details[this.detailOf[slot]!]! };
      case OBJECT:
        return this.objects.get(slot);
      default:
        return undefined;
    }
  }

  outcome(id: string): Outcome | undefined {
    const slot = this.index.slotOf(id);
    return slot < 0 ? undefined : this.outcomeAt(slot);
  }

  set(id: string, state: DeliveryState): void {
    const slot = this.index.slotOf(id);
    if (slot >= 0) this.setAt(slot, state);
  }

  fold(id: string, state: DeliveryState): void {
    const slot = this.index.slotOf(id);
    if (slot >= 0 && supersedes(state, this.outcomeAt(slot))) this.setAt(slot, state);
  }

  private outcomeAt(slot: number): Outcome | undefined {
    const kind = this.kinds[slot];
    return kind === DELIVERED ? { state: 'delivered' } : kind === OBJECT ? this.objects.get(slot) : undefined;
  }

  private setAt(slot: number, state: DeliveryState): void {
    const time = state.state === 'delivered' ? this.compactable(state) : null;
    if (time === null) {
      this.kinds[slot] = OBJECT;
      this.objects.set(slot, state);
      return;
    }
    this.kinds[slot] = DELIVERED;
    this.objects.delete(slot);
    this.attempts[slot] = state.attempts;
    this.times[slot] = time;
    this.detailOf[slot] = this.detailIds.get(state.detail!)!;
  }

  /** The time of a delivered state that can be kept as numbers (its detail interned), else null. */
  private compactable(state: DeliveryState): number | null {
    const keys = Object.keys(state);
    if (keys.length !== DELIVERED_KEYS.length || keys.some((k, i) => k !== DELIVERED_KEYS[i])) return null;
    if (!Number.isInteger(state.attempts) || state.attempts < 0 || state.attempts > 0xffff_ffff || typeof state.detail !== 'string') return null;
    const time = canonicalTime(state.updated_at);
    if (time === null) return null;
    if (!this.detailIds.has(state.detail)) {
      if (this.details.length >= MAX_DETAILS) return null;
      this.detailIds.set(state.detail, this.details.length);
      this.details.push(state.detail);
    }
    return time;
  }
}

/** Empty states (or outcomes) of each channel with an audience, in channel order; `only` one channel if given. */
function byChannel<T>(audience: Audience, make: (index: AudienceIndex) => T, only?: ChannelName): Map<ChannelName, T> {
  const out = new Map<ChannelName, T>();
  for (const channel of channelNames) {
    const ids = audience[channel] ?? [];
    if (ids.length > 0 && (only === undefined || channel === only)) out.set(channel, make(new AudienceIndex(ids)));
  }
  return out;
}

export const audienceStates = (audience: Audience, only?: ChannelName) => byChannel(audience, (index) => new AudienceStates(index), only);
export const audienceOutcomes = (audience: Audience) => byChannel(audience, (index) => new AudienceOutcomes(index));
