import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A full collection on demand, without starting the test runner with --expose-gc.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * Runs `fn` while full garbage collections run every few milliseconds: what a loaded process does
 * sooner or later to anything held only weakly (an AbortSignal.timeout joined by
 * AbortSignal.any, on Node 20), made certain.
 */
export async function underGarbagePressure<T>(fn: () => Promise<T>, everyMs = 10): Promise<T> {
  const timer = setInterval(collect, everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
