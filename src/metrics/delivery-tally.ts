import path from 'node:path';
import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';
import type { FailureReason } from '../delivery/delivery-outcome';
import type { DeliveryState } from '../delivery/delivery-status';
import { packOutcome, supersedes, unpackOutcome, type DeliveryReceipt, type Outcome } from '../delivery/receipts';
import { revisionDir } from '../storage/advisory-archive';
import { eachReceiptSince, type ReceiptFilePosition } from '../storage/receipt-file';
import { RECEIPTS_FILE } from '../storage/receipt-log';

/** What one channel's receipts of one revision add up to. */
export interface ChannelTally {
  /** Recipients whose delivery is `delivered`. */
  delivered: number;
  /** Recipients whose delivery is `failed`, by why it was given up. */
  failed: Record<FailureReason, number>;
  /** Failed attempts after which a retry was scheduled (of the latest replay generation). */
  retries: number;
  /** Epoch ms of the earliest and latest `delivered` receipt seen. */
  firstDeliveredAt?: number;
  lastDeliveredAt?: number;
}

export type RevisionTally = ReadonlyMap<ChannelName, ChannelTally>;

export interface DeliveryTallyOptions {
  dataDir: string;
  /** Attempts per recipient on a channel: tells a retry-exhausted failure from a permanent one in receipts that predate `reason`. */
  maxAttempts: (channel: ChannelName) => number;
  /** Revisions whose per-recipient states stay in memory to count what is added; others are read again from their start if they grow. Default 8. */
  followed?: number;
}

export interface DeliveryTally {
  /** Each revision's tally, read from its receipts file: only what was appended since the last call is read. */
  of(refs: readonly AdvisoryRef[]): Promise<RevisionTally[]>;
}

interface Followed {
  position: ReceiptFilePosition;
  tally: Map<ChannelName, ChannelTally>;
  /** Per channel, recipient -> its state as counted (see {@link pack}); null once forgotten (the revision was not followed). */
  states: Map<ChannelName, Map<string, number>> | null;
}

/** What the tally needs of a recipient's state: its outcome (to compare a later receipt with), and what it counted. */
type Counted = Outcome & { attempts: number; reason: FailureReason };

const REASONS: readonly FailureReason[] = ['permanent', 'attempts_exhausted', 'recipient_removed'];
/** Attempts beyond this count as this many: no schedule comes near it. */
const MAX_ATTEMPTS_KEPT = 0xffff;
/** Values of the part below the outcome: attempts times four plus the reason's place. */
const DETAIL = (MAX_ATTEMPTS_KEPT + 1) * 4;

/**
 * One number per recipient rather than its state object: a followed revision of 100,000
 * recipients keeps 100,000 of them, for as long as /metrics is scraped. The outcome is packed as
 * the receipts pack it (packOutcome), with attempts and reason below it.
 */
function pack(c: Counted): number {
  return packOutcome(c) * DETAIL + c.attempts * 4 + REASONS.indexOf(c.reason);
}

function unpack(n: number): Counted {
  const detail = n % DETAIL;
  return { ...unpackOutcome(Math.floor(n / DETAIL)), attempts: Math.floor(detail / 4), reason: REASONS[detail % 4]! };
}

const emptyChannel = (): ChannelTally => ({ delivered: 0, failed: { permanent: 0, attempts_exhausted: 0, recipient_removed: 0 }, retries: 0 });

/**
 * The delivery numbers of /metrics, counted from the durable receipts beside the archive rather
 * than from counters in Redis, so that a Redis that lost its data changes none of them. Each
 * recipient counts once per revision and channel, by the state its receipts add up to (a send
 * repeated after a Redis loss is not counted twice). Kept current as receipts are committed: each
 * call reads only the bytes appended since the previous one (one `stat` per unchanged revision),
 * and the first call after start reads every revision's file once.
 */
export function createDeliveryTally(o: DeliveryTallyOptions): DeliveryTally {
  const followed = o.followed ?? 8;
  const revisions = new Map<string, Followed>();
  let tail: Promise<unknown> = Promise.resolve();

  /** How far one state counts toward the tally: +1 to add it, -1 to take it back out. */
  function count(tally: ChannelTally, s: Counted, sign: 1 | -1): void {
    switch (s.state) {
      case 'delivered':
        tally.delivered += sign;
        tally.retries += sign * Math.max(0, s.attempts - 1);
        break;
      case 'failed':
        tally.failed[s.reason] += sign;
        tally.retries += sign * Math.max(0, s.attempts - 1);
        break;
      case 'retrying':
        tally.retries += sign * s.attempts;
        break;
      case 'pending':
        break;
    }
  }

  async function refresh(ref: AdvisoryRef): Promise<RevisionTally> {
    const key = `${ref.id}:${ref.revision}`;
    const file = path.join(revisionDir(o.dataDir, ref), RECEIPTS_FILE);
    const fresh = (): Followed => ({ position: { ino: 0, offset: 0 }, tally: new Map(), states: new Map() });
    const known = revisions.get(key);
    // Receipts are folded as they are read: into the states followed, or into a fresh count when
    // the read starts over (first read, a compacted or repaired file). A forgotten revision's
    // new receipts are only noticed here; it is counted again from its start below.
    let into: Followed | undefined = known?.states ? known : undefined;
    let added = false;
    const walked = await eachReceiptSince(
      file,
      known?.position ?? null,
      (r) => {
        added = true;
        if (into) add(into, r);
      },
      (fromStart) => {
        if (fromStart || !known) into = fresh();
      },
    );
    if (known && !into && added) {
      into = fresh();
      const again = await eachReceiptSince(file, null, (r) => add(into!, r));
      into.position = again.position;
    } else if (into) into.position = walked.position;
    if (!into) {
      // A forgotten revision with nothing new: its tally stands.
      known!.position = walked.position;
      return known!.tally;
    }
    const held = into;
    if (held === known && !added) return held.tally;
    revisions.delete(key);
    revisions.set(key, held);
    // Forget the states (not the tally) of the revisions that changed longest ago.
    let keep = followed;
    for (const r of [...revisions.values()].reverse()) if (r.states && keep-- <= 0) r.states = null;
    return held.tally;
  }

  function add(into: Followed, r: DeliveryReceipt): void {
    const { advisory: _a, revision: _r, channel, recipient, ...state } = r;
    let states = into.states!.get(channel);
    if (!states) into.states!.set(channel, (states = new Map()));
    let tally = into.tally.get(channel);
    if (!tally) into.tally.set(channel, (tally = emptyChannel()));
    if (state.state === 'delivered') {
      const at = Date.parse(state.updated_at);
      if (Number.isFinite(at)) {
        tally.firstDeliveredAt = Math.min(tally.firstDeliveredAt ?? at, at);
        tally.lastDeliveredAt = Math.max(tally.lastDeliveredAt ?? at, at);
      }
    }
    const packed = states.get(recipient);
    const held = packed === undefined ? undefined : unpack(packed);
    if (held && !supersedes(state, held)) return;
    const next: Counted = {
      state: state.state,
      ...(state.replays ? { replays: state.replays } : {}),
      attempts: Math.min(state.attempts, MAX_ATTEMPTS_KEPT),
      reason: state.state === 'failed' ? reasonOf(state, o.maxAttempts(channel)) : 'permanent',
    };
    if (held) count(tally, held, -1);
    count(tally, next, 1);
    states.set(recipient, pack(next));
  }

  return {
    of(refs) {
      // One reader at a time: two scrapes must not fold the same bytes twice.
      const run = tail.then(async () => {
        const out: RevisionTally[] = [];
        for (const ref of refs) out.push(await refresh(ref));
        return out;
      });
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

/** Why a failed delivery was given up; receipts written before `reason` was recorded are told apart by their attempts. */
function reasonOf(s: DeliveryState, maxAttempts: number): FailureReason {
  if (s.reason) return s.reason;
  if (s.failure?.kind === 'recipient_removed') return 'recipient_removed';
  return s.attempts >= maxAttempts ? 'attempts_exhausted' : 'permanent';
}
