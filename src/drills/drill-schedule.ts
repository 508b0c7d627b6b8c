import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from 'pino';

/** The longest setTimeout Node keeps: a later occurrence is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws (with cron-parser's reason) when `expression` is no cron expression; config calls it once at start. */
export function checkCronExpression(expression: string): void {
  CronExpressionParser.parse(expression, { tz: 'UTC' });
}

/** The next occurrence strictly after `after`, in UTC (tocsin's clock). */
export function nextOccurrence(expression: string, after: Date): Date {
  return CronExpressionParser.parse(expression, { currentDate: after, tz: 'UTC' }).next().toDate();
}

/**
 * The id of the drill for one occurrence: the same in every API process, so that two processes
 * running the schedule start one drill between them (the second is a duplicate of the first).
 */
export function scheduledDrillId(occurrence: Date): string {
  return `drill_${createHash('sha256').update(`scheduled ${occurrence.toISOString()}`).digest('hex').slice(0, 24)}`;
}

export interface DrillScheduleDeps {
  /** TOCSIN_DRILL_SCHEDULE, a cron expression in UTC (5 fields, or 6 with seconds). */
  expression: string;
  /** Starts the drill of one occurrence; its id is {@link scheduledDrillId}. */
  startDrill: (occurrence: Date) => Promise<unknown>;
  log: Logger;
  /** Tocsin's clock. Default: the system's. */
  now?: () => Date;
}

/**
 * Runs drills by themselves at each occurrence of the schedule. A timer that fires early (a clock
 * stepped back, a capped timer) waits again; an occurrence missed while no process ran is not
 * made up: a drill is for now, not for a time that passed.
 */
export function createDrillSchedule(deps: DrillScheduleDeps) {
  const now = deps.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<void> = Promise.resolve();

  function arm(occurrence: Date): void {
    if (closed) return;
    const wait = Math.min(Math.max(0, occurrence.getTime() - now().getTime()), MAX_TIMER_MS);
    timer = setTimeout(() => {
      if (now().getTime() < occurrence.getTime()) return arm(occurrence);
      running = deps
        .startDrill(occurrence)
        .then(() => deps.log.info({ occurrence: occurrence.toISOString(), id: scheduledDrillId(occurrence) }, 'scheduled drill started'))
        .catch((err: unknown) => deps.log.error({ err, occurrence: occurrence.toISOString() }, 'scheduled drill could not start'))
        .finally(() => arm(nextOccurrence(deps.expression, occurrence)));
    }, wait);
    timer.unref();
  }

  return {
    start(): void {
      arm(nextOccurrence(deps.expression, now()));
    },
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
