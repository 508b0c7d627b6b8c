/**
 * What the bench driver and its receiver processes say to each other over the IPC channel, and
 * how recipients are laid out over loopback origins.
 */

/** Ports per address: 100 ports on each of ~100 addresses gives 10,000 origins. */
export const PORTS_PER_ADDRESS = 100;
/**
 * Below Linux's ephemeral range (32768+): a listener there would both collide with outgoing
 * connections and, worse, take ports that connect() then has to skip.
 */
export const PORT_BASE = 21_000;
/** How far above PORT_BASE a receiver may look when a port is taken. */
export const PORT_SPAN = 2_000;

/** The loopback address of the a-th address slot: 127.0.0.2 .. 127.0.0.251, then 127.0.1.2 ... */
export function loopbackAddress(slot: number): string {
  return `127.0.${Math.floor(slot / 250)}.${2 + (slot % 250)}`;
}

/** Recipients `firstIndex .. firstIndex+count-1` listen on `host`, one port each. */
export interface AddressAssignment {
  host: string;
  firstIndex: number;
  count: number;
}

export interface PhaseStats {
  /** Every request in the phase, duplicates included. */
  requests: number;
  /** Recipients that got at least one request. */
  distinct: number;
  /** The same webhook-id delivered to the same recipient again. */
  duplicates: number;
  /** Requests whose path named a recipient other than the listener's own. */
  misrouted: number;
  /** Wall-clock ms of the first request, and of the request that reached the last new recipient. */
  firstAt: number | null;
  lastAt: number | null;
  minBodyBytes: number | null;
  maxBodyBytes: number | null;
  /** The first request of the phase, so the plain client can send the very same body. */
  sample: { headers: Record<string, string>; body: string } | null;
  /** Errors the listening sockets reported (accept failures). */
  serverErrors: number;
  /** The receiver process's own CPU time (user+system) since the phase began, in seconds. */
  cpuSeconds: number;
}

export type DriverMessage =
  | { seq: number; cmd: 'bind'; total: number; assignments: AddressAssignment[] }
  | { seq: number; cmd: 'phase'; name: string }
  | { seq: number; cmd: 'stats' };

export type ReceiverMessage =
  | { seq: number; type: 'bound'; urls: [number, string][] }
  | { seq: number; type: 'phase-started' }
  | { seq: number; type: 'stats'; stats: PhaseStats }
  | { seq: number; type: 'failed'; message: string };
