import type { Channel, Notice } from '../../src/channels/channel';
import { DestinationUnavailableError, PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from '../../src/channels/delivery-errors';
import { CircuitOpenError, createCircuitBreaker, withCircuitBreaker, type CircuitChange, type Outcome } from '../../src/delivery/circuit-breaker';

const HOST = 'https://partner.example:443';

/** A breaker on a clock the test moves by hand. */
function breakerAt(threshold = 3, cooldownMs = 30_000, maxCooldownMs = 600_000) {
  const clock = { t: 1_000_000 };
  const changes: CircuitChange[] = [];
  const breaker = createCircuitBreaker({ threshold, cooldownMs, maxCooldownMs, now: () => clock.t, onChange: (c) => changes.push(c) });
  /** One send through the breaker that ends with `outcome`; false when the breaker refused it. */
  const send = (outcome: Outcome, host = HOST): boolean => {
    let pass;
    try {
      pass = breaker.admit(host);
    } catch (err) {
      expect(err).toBeInstanceOf(CircuitOpenError);
      return false;
    }
    breaker.settle(pass, outcome, `failure at ${clock.t}`);
    return true;
  };
  return { clock, changes, breaker, send };
}

describe('circuit breaker', () => {
  it('opens after `threshold` consecutive failures and refuses sends until the cool-down ends', () => {
    const { clock, breaker, send, changes } = breakerAt(3, 30_000);
    expect(send('down')).toBe(true);
    expect(send('down')).toBe(true);
    expect(breaker.state(HOST)).toBe('closed');
    expect(send('down')).toBe(true);
    expect(breaker.state(HOST)).toBe('open');
    expect(changes).toEqual([{ destination: HOST, state: 'open', cooldownMs: 30_000, lastError: `failure at ${clock.t}` }]);
    for (let i = 0; i < 100; i++) expect(send('down')).toBe(false);
    clock.t += 29_999;
    expect(send('alive')).toBe(false);
    clock.t += 1;
    expect(breaker.state(HOST)).toBe('half-open');
  });

  it('says why a send was not attempted, without naming the host', () => {
    const { breaker, send } = breakerAt(1);
    send('down');
    const err = (() => {
      try {
        breaker.admit(HOST);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect(err!.message).toMatch(/^not attempted: circuit open for this destination host \(next probe in 30 s; last failure: failure at \d+\)$/);
    expect(err!.message).not.toContain('partner.example');
    expect((err as CircuitOpenError).untilProbeMs).toBe(30_000);
  });

  it('counts only consecutive failures: any answer from the host starts the count again', () => {
    const { breaker, send } = breakerAt(3);
    for (let i = 0; i < 10; i++) {
      send('down');
      send('down');
      send('alive');
    }
    expect(breaker.state(HOST)).toBe('closed');
    send('down');
    send('down');
    send('unknown');
    expect(breaker.state(HOST)).toBe('closed');
    send('down');
    expect(breaker.state(HOST)).toBe('open');
  });

  it('keeps hosts apart', () => {
    const { breaker, send } = breakerAt(2);
    send('down', 'http://dead.example');
    send('down', 'http://dead.example');
    expect(breaker.state('http://dead.example')).toBe('open');
    expect(send('alive', 'http://alive.example')).toBe(true);
    expect(breaker.state('http://alive.example')).toBe('closed');
  });

  it('lets one probe at a time through after the cool-down; a good answer closes the circuit', () => {
    const { clock, breaker, changes } = breakerAt(1, 1_000);
    breaker.settle(breaker.admit(HOST), 'down');
    clock.t += 1_000;
    const probe = breaker.admit(HOST);
    expect(probe.probe).toBe(true);
    expect(() => breaker.admit(HOST)).toThrow(/a probe is in flight/);
    breaker.settle(probe, 'alive');
    expect(breaker.state(HOST)).toBe('closed');
    expect(breaker.admit(HOST).probe).toBe(false);
    expect(changes.map((c) => c.state)).toEqual(['open', 'closed']);
  });

  it('doubles the cool-down each time the probe fails, up to the maximum, and starts over after a success', () => {
    const { clock, breaker } = breakerAt(1, 1_000, 5_000);
    breaker.settle(breaker.admit(HOST), 'down');
    const cooldowns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const opened = clock.t;
      // Step a millisecond at a time would be slow; find the reopening by bisecting the wait.
      let lo = 0;
      let hi = 10_000;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        clock.t = opened + mid;
        if (breaker.state(HOST) === 'half-open') hi = mid;
        else lo = mid + 1;
      }
      cooldowns.push(lo);
      clock.t = opened + lo;
      breaker.settle(breaker.admit(HOST), 'down');
    }
    expect(cooldowns).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    clock.t += 5_000;
    breaker.settle(breaker.admit(HOST), 'alive');
    breaker.settle(breaker.admit(HOST), 'down');
    expect(breaker.state(HOST)).toBe('open');
    clock.t += 1_000;
    expect(breaker.state(HOST)).toBe('half-open');
  });

  it('a probe that ends saying nothing (a cancelled job) lets the next send probe instead', () => {
    const { clock, breaker } = breakerAt(1, 1_000);
    breaker.settle(breaker.admit(HOST), 'down');
    clock.t += 1_000;
    breaker.settle(breaker.admit(HOST), 'unknown');
    expect(breaker.admit(HOST).probe).toBe(true);
  });

  it('ignores late failures of sends admitted before the circuit opened, but a late success closes it', () => {
    const { clock, breaker } = breakerAt(2, 1_000);
    const inFlight = [breaker.admit(HOST), breaker.admit(HOST), breaker.admit(HOST), breaker.admit(HOST)];
    breaker.settle(inFlight[0]!, 'down');
    breaker.settle(inFlight[1]!, 'down');
    breaker.settle(inFlight[2]!, 'down');
    clock.t += 999;
    expect(breaker.state(HOST)).toBe('open');
    breaker.settle(inFlight[3]!, 'alive');
    expect(breaker.state(HOST)).toBe('closed');
  });

  it('forgets hosts that answer, and keeps at most 10,000 with failures on record, open circuits first', () => {
    const { breaker, send } = breakerAt(2);
    send('down', 'http://a.example');
    send('alive', 'http://a.example');
    expect(breaker.tracked()).toBe(0);
    send('down', 'http://dead.example');
    send('down', 'http://dead.example');
    for (let i = 0; i < 12_000; i++) send('down', `http://h${i}.example`);
    expect(breaker.tracked()).toBe(10_000);
    expect(breaker.state('http://dead.example')).toBe('open');
  });

  it('is off with threshold 0', () => {
    const { breaker, send } = breakerAt(0);
    for (let i = 0; i < 50; i++) expect(send('down')).toBe(true);
    expect(breaker.state(HOST)).toBe('closed');
  });
});

describe('withCircuitBreaker', () => {
  const notice: Notice = { ref: { id: 'A-1', revision: 1 }, messageId: 'msg_1', payload: '{}', acceptedAt: new Date().toISOString() };

  /** A stand-in peer behind the Channel interface: each send throws the next scripted error. */
  function channelThrowing(errors: (Error | null)[]) {
    const calls: string[] = [];
    const channel: Channel<{ url: string }> = {
      name: 'webhook',
      destination: (r) => new URL(r.url).origin,
      async send(_n, r) {
        calls.push(r.url);
        const err = errors.shift();
        if (err) throw err;
        return { detail: 'HTTP 204' };
      },
      close: async () => undefined,
    };
    return { channel, calls };
  }

  async function attempt(channel: Channel<{ url: string }>, url: string, signal = new AbortController().signal) {
    return channel.send(notice, { url }, signal).then(() => 'ok', (e: unknown) => e as Error);
  }

  it('opens on timeouts and 5xx, but not on 429, 410 or 4xx: those prove the host alive', async () => {
    const breaker = createCircuitBreaker({ threshold: 2, cooldownMs: 60_000, maxCooldownMs: 60_000 });
    const alive = [
      new RateLimitedError('HTTP 429', 5_000),
      new PermanentDeliveryError('HTTP 410 Gone'),
      new TransientDeliveryError('HTTP 404'),
      new RateLimitedError('HTTP 429', 5_000),
      new PermanentDeliveryError('HTTP 410 Gone'),
    ];
    const { channel, calls } = channelThrowing(alive.flatMap((e, i) => [new DestinationUnavailableError(i % 2 ? 'HTTP 502' : 'timed out'), e]));
    const guarded = withCircuitBreaker(channel, breaker);
    for (let i = 0; i < 10; i++) await attempt(guarded, 'https://partner.example/hook');
    expect(calls).toHaveLength(10);
    expect(breaker.state('https://partner.example')).toBe('closed');

    const { channel: dead, calls: deadCalls } = channelThrowing(Array.from({ length: 100 }, () => new DestinationUnavailableError('ECONNREFUSED')));
    const guardedDead = withCircuitBreaker(dead, breaker);
    const results = [];
    for (let i = 0; i < 100; i++) results.push(await attempt(guardedDead, `https://dead.example/hook/${i}`));
    expect(deadCalls).toHaveLength(2);
    expect(results.slice(2).every((r) => r instanceof CircuitOpenError)).toBe(true);
  });

  it('does not count a send whose job was cancelled', async () => {
    const breaker = createCircuitBreaker({ threshold: 1, cooldownMs: 60_000, maxCooldownMs: 60_000 });
    const { channel } = channelThrowing([new DestinationUnavailableError('socket closed')]);
    const cancelled = new AbortController();
    cancelled.abort();
    await attempt(withCircuitBreaker(channel, breaker), 'https://partner.example/hook', cancelled.signal);
    expect(breaker.state('https://partner.example')).toBe('closed');
  });
});
