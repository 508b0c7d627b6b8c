/**
 * How many recipients' delivery states the API builds into answers at once. A revision's delivery
 * list holds one state per recipient of its audience while it is made and written (tens of MiB
 * at 100,000), and anyone may ask for it, as often and as slowly as they like: without a bound, a
 * few dozen requests for one large revision would take the API past its memory. Each answer
 * reserves its audience's size first, waits while others hold the budget, and gives up after a
 * while; one answer larger than the whole budget goes ahead alone.
 */
export interface ViewBudget {
  /** Resolves to the release (idempotent) once `recipients` fit; rejects with {@link ViewBudgetBusyError} after the wait. */
  reserve(recipients: number): Promise<() => void>;
}

export class ViewBudgetBusyError extends Error {
  constructor(readonly waitedMs: number) {
    super(`too many delivery lists are being read at once; try again in a few seconds`);
    this.name = 'ViewBudgetBusyError';
  }
}

export interface ViewBudgetOptions {
  /** Recipients' states held in answers at once. */
  recipients: number;
  /** How long a request waits for room before it is answered 503. */
  waitMs: number;
}

/** Who asks: the public's reads never hold back the operator's. */
export interface ViewBudgets {
  public: ViewBudget;
  admin: ViewBudget;
}

/** At 100,000 recipients a list costs about 25 MiB of heap while it is written. */
export const DEFAULT_VIEW_BUDGET: ViewBudgetOptions = { recipients: 100_000, waitMs: 10_000 };

export function createViewBudget(o: ViewBudgetOptions): ViewBudget {
  let inUse = 0;
  /** In arrival order: a large request at the head is not overtaken by small ones behind it. */
  const waiting: { recipients: number; grant: () => void }[] = [];
  const fits = (n: number) => inUse === 0 || inUse + n <= o.recipients;

  function admit(): void {
    while (waiting.length > 0 && fits(waiting[0]!.recipients)) waiting.shift()!.grant();
  }

  function take(n: number): () => void {
    inUse += n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inUse -= n;
      admit();
    };
  }

  return {
    reserve(recipients) {
      const n = Math.max(1, recipients);
      if (waiting.length === 0 && fits(n)) return Promise.resolve(take(n));
      return new Promise((resolve, reject) => {
        const entry = {
          recipients: n,
          grant: () => {
            clearTimeout(timer);
            resolve(take(n));
          },
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(new ViewBudgetBusyError(o.waitMs));
          // The head gave up: those behind it may fit now.
          admit();
        }, o.waitMs);
        waiting.push(entry);
      });
    },
  };
}

export function createViewBudgets(o: ViewBudgetOptions = DEFAULT_VIEW_BUDGET): ViewBudgets {
  return { public: createViewBudget(o), admin: createViewBudget(o) };
}
