import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deadlineSignal } from '../../src/util/deadline-signal';
import { underGarbagePressure } from '../support/garbage-pressure';

/** Slack for a loaded machine; a deadline that never fires would wait for the test's own timeout. */
const MARGIN_MS = 2_000;

describe('deadline signal', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // Takes every request and never answers it.
    server = http.createServer((req) => req.resume());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('ends a fetch that is never answered at its deadline, garbage collections or not', async () => {
    const outer = new AbortController();
    const deadline = deadlineSignal(300, outer.signal);
    const started = Date.now();
    const err = await underGarbagePressure(() => fetch(url, { method: 'POST', body: 'x', signal: deadline.signal }).then(() => null, (e: unknown) => e as Error));
    deadline.clear();
    expect(err?.name).toBe('TimeoutError');
    expect(deadline.expired()).toBe(true);
    expect(Date.now() - started).toBeLessThan(300 + MARGIN_MS);
  });

  it('ends it when the outer signal aborts first, with its reason, and that is not the deadline', async () => {
    const outer = new AbortController();
    const deadline = deadlineSignal(60_000, outer.signal);
    const pending = fetch(url, { signal: deadline.signal }).then(() => null, (e: unknown) => e);
    const reason = new Error('job cancelled');
    outer.abort(reason);
    expect(await pending).toBe(reason);
    expect(deadline.expired()).toBe(false);
    deadline.clear();
    // An outer signal already aborted is followed at once.
    expect(deadlineSignal(60_000, outer.signal).signal.reason).toBe(reason);
  });

  it('once cleared, follows neither the clock nor the outer signal', () => {
    jest.useFakeTimers();
    try {
      const outer = new AbortController();
      const deadline = deadlineSignal(100, outer.signal);
      deadline.clear();
      jest.advanceTimersByTime(1_000);
      outer.abort();
      expect(deadline.signal.aborted).toBe(false);
      expect(deadline.expired()).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });
});
