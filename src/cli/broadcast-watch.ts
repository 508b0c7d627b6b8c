import { setTimeout as sleep } from 'node:timers/promises';
import type { AdvisoryRef } from '../advisory/record';
import { callApi, type ApiTarget } from './api-client';
import { firstAttemptsDone, scheduledText, totalOf, undelivered, type DeliveriesAnswer } from './broadcast-progress';
import { CliFailure } from './commands';
import type { ProgressDisplay } from './progress-display';
import { deadlineSignal } from '../util/deadline-signal';

/** Exit code when some deliveries failed or wait for a retry. */
export const PARTIAL_DELIVERY_EXIT = 3;
/** Exit code after Ctrl-C (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT = 130;

/** Server polls are at most this often, however short the line interval. */
const MAX_POLL_MS = 1000;
/** One poll that takes longer than this is a failure, not a wait. */
const POLL_TIMEOUT_MS = 30_000;

export interface WatchOptions {
  display: ProgressDisplay;
  /** How often a line is written off a terminal; polls are at most a second apart. */
  lineEveryMs: number;
  /** Ends the watch (Ctrl-C); the broadcast itself goes on. */
  interrupt: AbortSignal;
  now?: () => number;
  /**
   * The signed document's SHA-256, which the submitter knows: with it the read also shows a
   * revision not yet public (under embargo, or above TLP:CLEAR), as to nobody else.
   */
  sha256?: string | undefined;
}

/**
 * Polls the delivery read until no first attempt is left pending, showing each answer: the public
 * read, or the admin view when the target has the admin token (an embargoed advisory has no public
 * read; the admin view also names the recipients `scheduled` for its release, which the wait does
 * not wait for). Interrupted, it says that the broadcast continues on the server and how to follow
 * it again.
 */
export async function watchBroadcast(target: ApiTarget, ref: AdvisoryRef, options: WatchOptions): Promise<DeliveriesAnswer> {
  const now = options.now ?? Date.now;
  const path = `/v1/advisories/${encodeURIComponent(ref.id)}/deliveries?revision=${ref.revision}${options.sha256 ? `&sha256=${options.sha256}` : ''}`;
  const pollMs = Math.min(MAX_POLL_MS, options.lineEveryMs);
  try {
    for (;;) {
      const poll = deadlineSignal(POLL_TIMEOUT_MS, options.interrupt);
      let answer: DeliveriesAnswer;
      try {
        answer = (await callApi(target, 'GET', path, { signal: poll.signal, admin: Boolean(target.token) })) as DeliveriesAnswer;
      } finally {
        poll.clear();
      }
      if (firstAttemptsDone(answer)) {
        options.display.end(answer, now());
        return answer;
      }
      options.display.show(answer, now());
      await sleep(pollMs, undefined, { signal: options.interrupt });
    }
  } catch (err) {
    if (!options.interrupt.aborted) throw err;
    throw new CliFailure(
      `interrupted: the broadcast continues on the server; follow it again with: tocsin deliveries watch ${ref.id} --revision ${ref.revision}${options.sha256 ? ` --sha256 ${options.sha256}` : ''}`,
      INTERRUPTED_EXIT,
    );
  }
}

/** An AbortSignal that Ctrl-C fires, for as long as `run` runs. */
export async function untilInterrupted<T>(run: (interrupt: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Exit 0 when every delivery was delivered; else exit 3, naming each one that was not. */
export function concludeBroadcast(answer: DeliveriesAnswer): string {
  const total = totalOf(answer.summary);
  const later = scheduledText(answer);
  if (answer.summary.delivered === total) {
    const done = total === 0 ? 'no recipients yet' : `delivered to all ${total} recipient${total === 1 ? '' : 's'}`;
    if (later) return `${done} of the embargo's audience; ${later}`;
    return total === 0 ? 'no recipients: nothing to deliver' : done;
  }
  throw new CliFailure(
    [
      `not delivered to ${total - answer.summary.delivered} of ${total} recipients (${answer.summary.failed} failed, ${answer.summary.retrying} waiting for a retry):`,
      ...undelivered(answer),
    ].join('\n'),
    PARTIAL_DELIVERY_EXIT,
  );
}
