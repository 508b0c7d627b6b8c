import { createLogger } from '../../src/log';
import { createEmbargoSchedule, type EmbargoScheduleDeps } from '../../src/release/embargo-schedule';

const log = createLogger('silent');

/**
 * A stand-in for the archive's schedule: revisions due at given times on the injected clock;
 * `releaseDue` releases those whose time has come by that clock and tells the test when.
 */
function fakeEmbargoes(clock: () => Date, dues: number[]) {
  const waiting = new Set(dues);
  const released: { due: number; at: number }[] = [];
  const listeners: (() => void)[] = [];
  const deps: Pick<EmbargoScheduleDeps, 'pending' | 'releaseDue'> = {
    pending: async () => [...waiting].map((d) => new Date(d)),
    releaseDue: async () => {
      const now = clock().getTime();
      let n = 0;
      for (const due of [...waiting].sort((a, b) => a - b)) {
        if (due > now) continue;
        waiting.delete(due);
        released.push({ due, at: now });
        n += 1;
      }
      if (n > 0) listeners.splice(0).forEach((l) => l());
      return n;
    },
  };
  /** Resolves once `count` releases have happened. */
  const releasedCount = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (released.length >= count ? resolve() : listeners.push(check));
      check();
    });
  return { deps, released, waiting, releasedCount };
}

describe('embargo schedule', () => {
  it("releases by tocsin's injected clock, each revision at its end and never before", async () => {
    // An hour ahead of the machine: a timer computed from Date.now() would wait an hour.
    const skew = 3_600_000;
    const clock = () => new Date(Date.now() + skew);
    const base = clock().getTime();
    const embargoes = fakeEmbargoes(clock, [base + 300, base + 100, base + 200]);
    const schedule = createEmbargoSchedule({ ...embargoes.deps, now: clock, log });
    try {
      await schedule.check();
      expect(embargoes.released).toHaveLength(0);
      await embargoes.releasedCount(3);
      expect(embargoes.released.map((r) => r.due)).toEqual([base + 100, base + 200, base + 300]);
      for (const r of embargoes.released) {
        expect(r.at).toBeGreaterThanOrEqual(r.due);
        expect(r.at - r.due).toBeLessThan(1_000);
      }
    } finally {
      await schedule.close();
    }
  });

  it('releases at once what is already due when it starts (an embargo that ended while no process ran)', async () => {
    const clock = () => new Date();
    const embargoes = fakeEmbargoes(clock, [Date.now() - 60_000]);
    const schedule = createEmbargoSchedule({ ...embargoes.deps, now: clock, log });
    try {
      await schedule.check();
      expect(embargoes.released).toHaveLength(1);
    } finally {
      await schedule.close();
    }
  });

  it('tries a failed pass again shortly (Redis down at the embargo end)', async () => {
    const clock = () => new Date();
    const embargoes = fakeEmbargoes(clock, [Date.now() + 50]);
    let failures = 0;
    const schedule = createEmbargoSchedule({
      ...embargoes.deps,
      releaseDue: async () => {
        if (clock().getTime() >= [...embargoes.waiting][0]! && failures < 2) {
          failures += 1;
          throw new Error('redis unreachable');
        }
        return embargoes.deps.releaseDue();
      },
      now: clock,
      log,
      retryMs: 50,
    });
    try {
      await schedule.check();
      await embargoes.releasedCount(1);
      expect(failures).toBe(2);
    } finally {
      await schedule.close();
    }
  });

  it('looks again within maxWaitMs, so an embargo another process accepted is not missed', async () => {
    const clock = () => new Date();
    const embargoes = fakeEmbargoes(clock, []);
    const schedule = createEmbargoSchedule({ ...embargoes.deps, now: clock, log, maxWaitMs: 100 });
    try {
      await schedule.check();
      embargoes.waiting.add(Date.now() + 20);
      await embargoes.releasedCount(1);
    } finally {
      await schedule.close();
    }
  });

  it('stops its timer when closed', async () => {
    const clock = () => new Date();
    const due = Date.now() + 100;
    const closed = fakeEmbargoes(clock, [due]);
    const control = fakeEmbargoes(clock, [due]);
    const a = createEmbargoSchedule({ ...closed.deps, now: clock, log });
    const b = createEmbargoSchedule({ ...control.deps, now: clock, log });
    try {
      await Promise.all([a.check(), b.check()]);
      await a.close();
      // The open schedule's release is the event that shows the time came.
      await control.releasedCount(1);
      expect(closed.released).toHaveLength(0);
    } finally {
      await b.close();
    }
  });
});
