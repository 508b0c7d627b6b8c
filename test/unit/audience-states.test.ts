import { AudienceIndex, AudienceOutcomes, AudienceStates } from '../../src/delivery/audience-states';
import type { DeliveryState } from '../../src/delivery/delivery-status';

const ids = ['rcpt_01', 'rcpt_05', 'rcpt_09', 'rcpt_0a', 'rcpt_ff'];

describe('audience index', () => {
  it('finds every recipient of a sorted audience by its place, and nobody else', () => {
    const index = new AudienceIndex(ids);
    ids.forEach((id, slot) => expect(index.slotOf(id)).toBe(slot));
    for (const stranger of ['', 'rcpt_00', 'rcpt_06', 'rcpt_0b', 'rcpt_fg', 'zzz']) expect(index.slotOf(stranger)).toBe(-1);
    expect(new AudienceIndex([]).slotOf('rcpt_01')).toBe(-1);
  });

  it('finds them in an audience that is not sorted too, the first place of a repeated id', () => {
    const unsorted = ['r10', 'r2', 'r1', 'r2'];
    const index = new AudienceIndex(unsorted);
    expect([index.slotOf('r10'), index.slotOf('r2'), index.slotOf('r1'), index.slotOf('r3')]).toEqual([0, 1, 2, -1]);
  });
});

describe('audience states', () => {
  const at = '2026-12-02T12:00:00.123Z';
  /** JSON text keeps key order: the admin read writes a state's keys as they are. */
  const asWritten = (s: DeliveryState | undefined) => JSON.stringify(s);

  it('gives back every state as it was set, keys in the same order, whichever way it is kept', () => {
    const states = new AudienceStates(new AudienceIndex(ids));
    const set: DeliveryState[] = [
      { state: 'delivered', attempts: 1, updated_at: at, detail: 'HTTP 204' },
      // Not the writers' form of a time: kept as it was, not rewritten.
      { state: 'delivered', attempts: 2, updated_at: '2026-12-02T12:00:00Z', detail: 'HTTP 200' },
      { state: 'delivered', attempts: 3, updated_at: at, detail: 'HTTP 204', replays: 1, replayed_at: at },
      { state: 'failed', attempts: 6, updated_at: at, last_error: 'HTTP 500', failure: { kind: 'http_status', status: 500 }, reason: 'attempts_exhausted' },
      { attempts: 1, state: 'delivered', updated_at: at, detail: 'HTTP 204' },
    ];
    set.forEach((s, i) => states.set(ids[i]!, s));
    set.forEach((s, i) => {
      expect(asWritten(states.get(ids[i]!))).toBe(asWritten(s));
      expect(asWritten(states.at(i))).toBe(asWritten(s));
      const outcome = states.outcome(ids[i]!);
      expect([outcome?.state, outcome?.replays]).toEqual([s.state, s.replays]);
    });
  });

  it('keeps nothing for a recipient outside its audience, and a later state replaces an earlier one', () => {
    const states = new AudienceStates(new AudienceIndex(ids));
    states.set('rcpt_stranger', { state: 'delivered', attempts: 1, updated_at: at, detail: 'HTTP 204' });
    expect(states.get('rcpt_stranger')).toBeUndefined();
    expect(ids.map((_, slot) => states.at(slot))).toEqual(ids.map(() => undefined));
    const retrying: DeliveryState = { state: 'retrying', attempts: 1, updated_at: at, last_error: 'HTTP 503', next_attempt_at: at };
    const delivered: DeliveryState = { state: 'delivered', attempts: 2, updated_at: at, detail: 'HTTP 202' };
    states.set('rcpt_09', retrying);
    expect(states.get('rcpt_09')).toEqual(retrying);
    states.set('rcpt_09', delivered);
    expect(asWritten(states.get('rcpt_09'))).toBe(asWritten(delivered));
    states.set('rcpt_09', retrying);
    expect(states.get('rcpt_09')).toEqual(retrying);
  });

  it('folds a state in only where it supersedes the one held, as the receipts add them up', () => {
    const states = new AudienceStates(new AudienceIndex(ids));
    const delivered: DeliveryState = { state: 'delivered', attempts: 2, updated_at: at, detail: 'HTTP 204' };
    const replayed: DeliveryState = { state: 'retrying', attempts: 0, updated_at: at, replays: 1, replayed_at: at };
    states.fold('rcpt_01', delivered);
    // Within one replay generation a state never moves back; a later generation always takes over.
    states.fold('rcpt_01', { state: 'retrying', attempts: 3, updated_at: at, last_error: 'HTTP 503' });
    expect(asWritten(states.get('rcpt_01'))).toBe(asWritten(delivered));
    states.fold('rcpt_01', replayed);
    expect(states.get('rcpt_01')).toEqual(replayed);
    states.fold('rcpt_stranger', delivered);
    expect(states.get('rcpt_stranger')).toBeUndefined();
    const outcomes = new AudienceOutcomes(new AudienceIndex(ids));
    outcomes.fold('rcpt_05', { state: 'failed' });
    outcomes.fold('rcpt_05', { state: 'retrying' });
    expect(outcomes.outcome('rcpt_05')).toEqual({ state: 'failed' });
    outcomes.fold('rcpt_05', { state: 'delivered' });
    expect(outcomes.outcome('rcpt_05')).toEqual({ state: 'delivered' });
  });

  it('gives back each of many distinct details, past the number it keeps once each', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `r${String(i).padStart(5, '0')}`);
    const states = new AudienceStates(new AudienceIndex(many));
    many.forEach((id, i) => states.set(id, { state: 'delivered', attempts: 1, updated_at: at, detail: `250 queued as ${i}` }));
    many.forEach((id, i) => expect(states.get(id)?.detail).toBe(`250 queued as ${i}`));
  });
});

describe('audience outcomes', () => {
  it('keeps each recipient state and replay generation, nothing for a stranger', () => {
    const outcomes = new AudienceOutcomes(new AudienceIndex(ids));
    outcomes.set('rcpt_01', { state: 'delivered' });
    outcomes.set('rcpt_05', { state: 'retrying', replays: 3 });
    outcomes.set('rcpt_09', { state: 'failed' });
    outcomes.set('rcpt_stranger', { state: 'failed' });
    expect(ids.map((_, slot) => outcomes.at(slot))).toEqual([{ state: 'delivered' }, { state: 'retrying', replays: 3 }, { state: 'failed' }, undefined, undefined]);
    expect(outcomes.outcome('rcpt_05')).toEqual({ state: 'retrying', replays: 3 });
    expect(outcomes.outcome('rcpt_stranger')).toBeUndefined();
  });
});
