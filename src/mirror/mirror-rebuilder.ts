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

/**
 * Rebuilds the mirror after publishes without ever running two builds at once: requests that
 * arrive during a build are folded into one more build after it. A failed build is logged and
 * left for the next request; the acceptance that triggered it is already archived and answered.
 */
export function createMirrorRebuilder(build: () => Promise<BuildResult>, log: Logger, delayMs = 250): MirrorRebuilder {
  let timer: NodeJS.Timeout | null = null;
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
        log.info({ dir: result.outDir, advisories: result.advisories, files: result.files, ms: result.ms, skipped: result.skipped }, 'static mirror rebuilt');
      } catch (err) {
        log.error({ err }, 'static mirror rebuild failed; the next publish or restart rebuilds it');
      }
    } while (again && !closed);
  }

  function fire() {
    timer = null;
    running = loop().finally(() => {
      running = null;
      settleIfIdle();
    });
  }

  return {
    schedule() {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      if (!timer) timer = setTimeout(fire, delayMs);
    },
    idle() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
        settleIfIdle();
      });
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
      settleIfIdle();
    },
  };
}
