import type { Channel, DeliveryReceipt, Notice, RetryAttempt } from '../channels/channel';
import { DestinationUnavailableError, PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from '../channels/delivery-errors';

export interface CircuitBreakerOptions {
  /** Consecutive failures of a destination (unreachable, timed out, 5xx) that open its circuit; 0 turns the breaker off. */
  threshold: number;
  /** First cool-down of an open circuit; it doubles each time the probe after it fails. */
  cooldownMs: number;
  /** Longest cool-down. */
  maxCooldownMs: number;
  /** Injected in tests. Default Date.now. */
  now?: () => number;
  /** Told when a circuit opens or closes, e.g. to log it. */
  onChange?: (change: CircuitChange) => void;
}

export interface CircuitChange {
  destination: string;
  state: 'open' | 'closed';
  /** For `open`: how long until the next probe, and the failure that opened it. */
  cooldownMs?: number;
  lastError?: string;
}

/** What happened to a send, as far as its destination's health goes. */
export type Outcome = 'alive' | 'down' | 'unknown';

/** Leave to send; `probe` is the one send let through a circuit whose cool-down is over. */
export interface Pass {
  destination: string;
  probe: boolean;
}

/**
 * A send that was not attempted because its destination's circuit is open. Retried no sooner than
 * the circuit's next probe, so a long outage does not use up a recipient's attempts.
 */
export class CircuitOpenError extends TransientDeliveryError {
  /** @param untilProbeMs how long until the circuit lets a probe through; 0 while one is in flight */
  constructor(message: string, readonly untilProbeMs: number) {
    super(message, { failure: { kind: 'circuit_open' } });
    this.name = 'CircuitOpenError';
  }
}

interface Circuit {
  /** Consecutive `down` outcomes while closed. */
  failures: number;
  /** 0 while closed; otherwise when the cool-down ends and a probe may go. */
  openUntil: number;
  cooldownMs: number;
  probing: boolean;
  lastError: string;
}

/**
 * One circuit per destination host, in this process's memory only: each worker process learns on
 * its own that a host is dead (each pays its own few probes), and a restart forgets. Only failing
 * hosts take memory: a host that answers is forgotten at once.
 *
 * closed: every send goes; `threshold` consecutive `down` outcomes open the circuit.
 * open: no send goes until the cool-down ends. half-open (cool-down over): one probe at a time;
 * `alive` closes the circuit, `down` opens it again for twice as long (up to the maximum).
 */
/** Hosts with failures on record at most, open circuits aside: memory stays bounded. */
const MAX_TRACKED = 10_000;

export function createCircuitBreaker(options: CircuitBreakerOptions) {
  const now = options.now ?? Date.now;
  const circuits = new Map<string, Circuit>();

  // A host that failed once and was never sent to again would otherwise stay here for good.
  function forgetOldestClosed(): void {
    for (const [destination, circuit] of circuits) {
      if (circuit.openUntil === 0) {
        circuits.delete(destination);
        return;
      }
    }
  }

  function open(destination: string, circuit: Circuit, cooldownMs: number): void {
    circuit.cooldownMs = cooldownMs;
    circuit.openUntil = now() + cooldownMs;
    circuit.failures = 0;
    options.onChange?.({ destination, state: 'open', cooldownMs, lastError: circuit.lastError });
  }

  return {
    /** Lets a send to `destination` go, or throws {@link CircuitOpenError} without sending. */
    admit(destination: string): Pass {
      const circuit = circuits.get(destination);
      if (!circuit || circuit.openUntil === 0) return { destination, probe: false };
      const t = now();
      if (t < circuit.openUntil || circuit.probing) {
        const untilProbeMs = Math.max(0, circuit.openUntil - t);
        const when = circuit.probing ? 'a probe is in flight' : `next probe in ${Math.ceil(untilProbeMs / 1000)} s`;
        throw new CircuitOpenError(`not attempted: circuit open for this destination host (${when}; last failure: ${circuit.lastError})`, untilProbeMs);
      }
      circuit.probing = true;
      return { destination, probe: true };
    },

    /** Records how a send let through by {@link admit} ended. */
    settle(pass: Pass, outcome: Outcome, error?: string): void {
      const circuit = circuits.get(pass.destination);
      if (!circuit) {
        if (outcome !== 'down' || options.threshold <= 0) return;
        if (circuits.size >= MAX_TRACKED) forgetOldestClosed();
        const fresh: Circuit = { failures: 1, openUntil: 0, cooldownMs: options.cooldownMs, probing: false, lastError: error ?? 'unknown' };
        circuits.set(pass.destination, fresh);
        if (options.threshold <= 1) open(pass.destination, fresh, options.cooldownMs);
        return;
      }
      if (pass.probe) circuit.probing = false;
      if (outcome === 'alive') {
        // Any answer proves the host alive, even from a send admitted before the circuit opened.
        circuits.delete(pass.destination);
        if (circuit.openUntil !== 0) options.onChange?.({ destination: pass.destination, state: 'closed' });
        return;
      }
      if (outcome !== 'down') return;
      circuit.lastError = error ?? circuit.lastError;
      if (pass.probe) {
        open(pass.destination, circuit, Math.min(options.maxCooldownMs, circuit.cooldownMs * 2));
      } else if (circuit.openUntil === 0) {
        circuit.failures += 1;
        if (circuit.failures >= options.threshold) open(pass.destination, circuit, options.cooldownMs);
      }
      // A failure of a send admitted before the circuit opened tells nothing new.
    },

    /** Hosts with failures on record, for tests and diagnostics. */
    tracked: () => circuits.size,

    /** For tests and diagnostics. */
    state(destination: string): 'closed' | 'open' | 'half-open' {
      const circuit = circuits.get(destination);
      if (!circuit || circuit.openUntil === 0) return 'closed';
      return now() < circuit.openUntil ? 'open' : 'half-open';
    },
  };
}
export type CircuitBreaker = ReturnType<typeof createCircuitBreaker>;

/**
 * What a failed send says about its destination: a refusal, a rate limit or any other answer
 * proves the host alive; only {@link DestinationUnavailableError} counts against it. Anything
 * else (a bug, a cancelled job) says nothing either way.
 */
export function outcomeOf(err: unknown): Outcome {
  if (err instanceof CircuitOpenError) return 'unknown';
  if (err instanceof DestinationUnavailableError) return 'down';
  if (err instanceof PermanentDeliveryError || err instanceof RateLimitedError || err instanceof TransientDeliveryError) return 'alive';
  return 'unknown';
}

/**
 * The channel, with each send passing its destination's circuit first. A send refused by an open
 * circuit throws {@link CircuitOpenError}, a transient failure: the queue records it as an attempt
 * and schedules the next one after the circuit's next probe plus the usual backoff, so attempts
 * are used up no faster than without the breaker, minus the timeouts.
 */
export function withCircuitBreaker<R>(channel: Channel<R>, breaker: CircuitBreaker): Channel<R> {
  return {
    name: channel.name,
    destination: (recipient) => channel.destination(recipient),
    close: () => channel.close(),
    async send(notice: Notice, recipient: R, signal: AbortSignal, retry?: RetryAttempt): Promise<DeliveryReceipt> {
      const destination = channel.destination(recipient);
      if (destination === null) return channel.send(notice, recipient, signal, retry);
      const pass = breaker.admit(destination);
      try {
        const receipt = await channel.send(notice, recipient, signal, retry);
        breaker.settle(pass, 'alive');
        return receipt;
      } catch (err) {
        breaker.settle(pass, signal.aborted ? 'unknown' : outcomeOf(err), err instanceof Error ? err.message : String(err));
        throw err;
      }
    },
  };
}
