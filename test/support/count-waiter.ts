/**
 * Lets a fake peer's test wait for "at least N of something" without polling or sleeping: the
 * peer calls `notify()` whenever its count grows; `waitFor` resolves then, or rejects at its
 * deadline saying how far it got.
 */
export function createCountWaiter(count: () => number, what: string) {
  const waiters: { target: number; resolve: () => void }[] = [];
  return {
    notify(): void {
      for (const w of [...waiters]) {
        if (count() >= w.target) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    waitFor(target: number, timeoutMs = 30_000): Promise<void> {
      if (count() >= target) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what}: ${count()} of ${target} in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ target, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
}
