import type { Logger } from 'pino';
import type { BuildResult } from './build-mirror';

export interface MirrorRebuilder {
  /** Asks for a rebuild soon; cheap and synchronous, so it can follow an answer at no cost to it. */
  schedule(): void;
  /** Resolves when no rebuild is waiting or running (tests, and a clean stop). */
  idle(): Promise<void>;
  /** Cancels a waiting rebuild and waits for a running one. */
  close(): Promise<void>;
}

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); an embargo may end 90 days ahead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Rebuilds the mirror after publishes without ever running two builds at once: requests that
 * arrive during a build are folded into one more build after it. A failed build is logged and
 * left for the next request; the acceptance that triggered it is already archived and answered.
 * A build that says when the public view next changes (an embargo's end) gets another build
 * then, by itself: the mirror shows an embargoed advisory at its release with no publish to
 * prompt it, and since every start builds once, across restarts too.
 */
export function createMirrorRebuilder(build: () => Promise<BuildResult>, log: Logger, delayMs = 250): MirrorRebuilder {
  let timer: NodeJS.Timeout | null = null;
  let wake: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;
  const waiters: (() => void)[] = [];

  const settleIfIdle = () => {
    if (timer || running) return;
    for (const w of waiters.splice(0)) w();
  };

  async function loop(): Promise<void> {
    do {
      again = false;
      try {
        const result = await build();
        log.info({ dir: result.outDir, advisories: result.advisories, files: result.files, ms: result.ms, skipped: result.skipped, next_change: result.nextChange }, 'static mirror rebuilt');
        if (result.nextChange) wakeAt(Date.parse(result.nextChange));
      } catch (err) {
        log.error({ err }, 'static mirror rebuild failed; the next publish or restart rebuilds it');
      }
    } while (again && !closed);
  }

  /** One rebuild at `at` (tocsin's clock), in steps no longer than a timer can wait. */
  function wakeAt(at: number) {
    if (wake) clearTimeout(wake);
    if (closed) return;
    wake = setTimeout(() => {
      wake = null;
      if (Date.now() >= at) schedule();
      else wakeAt(at);
    }, Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS));
    // A pending release of the mirror does not keep a stopping process alive.
    wake.unref();
  }

  function schedule() {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    if (!timer) timer = setTimeout(fire, delayMs);
  }

  function fire() {
    timer = null;
    running = loop().finally(() => {
      running = null;
      settleIfIdle();
    });
  }

  return {
    schedule,
    idle() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
        settleIfIdle();
      });
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (wake) clearTimeout(wake);
      timer = null;
      wake = null;
      await running;
      settleIfIdle();
    },
  };
}
