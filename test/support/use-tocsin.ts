import { startTocsin, type HarnessOptions, type Tocsin } from './tocsin-harness';

export interface TocsinFixtureOptions {
  /** `all` (default): one tocsin for the suite, started in `beforeAll`; `each`: a fresh one per test (`beforeEach`). */
  per?: 'all' | 'each';
}

/**
 * A suite's running tocsin (API and workers on real Redis, its own prefix and directories; see
 * tocsin-harness.ts), started in the suite's `beforeAll` and closed in its `afterAll`, Redis
 * prefix and directories removed. The options are a function so that they can name what earlier
 * hooks made (a publisher's key, a receiver's URL): hooks run in the order they are declared, so
 * call this after the fixtures it depends on. What it returns stands for the running tocsin in
 * every hook and test after it started.
 *
 * Jest only: it registers hooks, so tsconfig.build.json leaves `test/support/use-*.ts` out of the
 * build (which has no jest globals).
 *
 * @example
 * const publisher = useGpgPublisher('sec@example.org');
 * const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey] }));
 */
export function useTocsin(options: () => HarnessOptions | Promise<HarnessOptions> = () => ({}), fixture: TocsinFixtureOptions = {}): Tocsin {
  let running: Tocsin | undefined;
  const start = async () => {
    running = await startTocsin(await options());
  };
  const stop = async () => {
    await running?.close();
    running = undefined;
  };
  if (fixture.per === 'each') {
    beforeEach(start);
    afterEach(stop);
  } else {
    beforeAll(start);
    afterAll(stop);
  }
  return new Proxy({} as Tocsin, {
    get(_, property) {
      // Not a promise: `await tocsin` or a returned fixture must not look for a `then`.
      if (property === 'then') return undefined;
      if (!running) throw new Error('the suite\'s tocsin runs only from its beforeAll (or beforeEach) to its afterAll');
      return running[property as keyof Tocsin];
    },
  });
}
