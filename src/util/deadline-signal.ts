/**
 * An AbortSignal that aborts when `outer` does, or `ms` from now with a `TimeoutError` (as
 * `AbortSignal.timeout` does), whichever comes first. Call `clear` once the work is over.
 *
 * Not `AbortSignal.any([outer, AbortSignal.timeout(ms)])`: on Node 20 the timeout signal is held
 * only weakly, by its own timer and by the signal `any` makes, so a garbage collection before it
 * fires takes it away and the work waits for ever. A fetch to a peer that never answers hung that
 * way under load (a Mastodon post, in CI); here the timer holds the controller.
 *
 * Webhooks use net/request-deadlines.ts instead: one timer for every request, in the shape
 * undici's `request` takes. fetch (masto) and nodemailer take only a real AbortSignal.
 */
export interface DeadlineSignal {
  signal: AbortSignal;
  /** True once the deadline itself passed (not `outer`). */
  expired(): boolean;
  /** Stops the timer and stops following `outer`. */
  clear(): void;
}

export function deadlineSignal(ms: number, outer?: AbortSignal): DeadlineSignal {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  // As AbortSignal.timeout's: a deadline alone does not keep the process running.
  timer.unref();
  const follow = () => controller.abort(outer?.reason);
  if (outer?.aborted) follow();
  else outer?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    expired: () => expired,
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', follow);
    },
  };
}
