import { createViewBudget, ViewBudgetBusyError } from '../../src/http/view-budget';

describe('view budget: recipients held in delivery lists at once', () => {
  it('lets answers in while they fit, makes the next wait for room, and lets it in once room is made', async () => {
    const budget = createViewBudget({ recipients: 10, waitMs: 5_000 });
    const a = await budget.reserve(6);
    const b = await budget.reserve(4);
    let granted = false;
    const c = budget.reserve(3).then((release) => ((granted = true), release));
    await new Promise((r) => setImmediate(r));
    expect(granted).toBe(false);
    a();
    const releaseC = await c;
    expect(granted).toBe(true);
    // Releasing twice gives back nothing twice: b and c still hold 7 of 10.
    a();
    let late = false;
    const d = budget.reserve(4).then((release) => ((late = true), release));
    await new Promise((r) => setImmediate(r));
    expect(late).toBe(false);
    b();
    releaseC();
    (await d)();
  });

  it('answers busy once the wait is over, and lets through those behind a request that gave up', async () => {
    const budget = createViewBudget({ recipients: 10, waitMs: 50 });
    const held = await budget.reserve(8);
    const big = budget.reserve(5);
    // Behind the big one in line, it waits too (no overtaking), then gets in once the big one gave up.
    const small = budget.reserve(2);
    await expect(big).rejects.toBeInstanceOf(ViewBudgetBusyError);
    (await small)();
    held();
  });

  it('lets an answer larger than the whole budget go ahead alone', async () => {
    const budget = createViewBudget({ recipients: 10, waitMs: 50 });
    const huge = await budget.reserve(1_000);
    await expect(budget.reserve(1)).rejects.toBeInstanceOf(ViewBudgetBusyError);
    huge();
    (await budget.reserve(1_000))();
  });
});
