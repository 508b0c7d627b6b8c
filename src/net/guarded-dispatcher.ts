import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { isForbiddenAddress } from './address-policy';
import type { ResolveHost, ResolvedAddress } from './resolve-host';

export class ForbiddenAddressError extends Error {
  readonly code = 'ERR_TOCSIN_FORBIDDEN_ADDRESS';
  constructor(readonly host: string, readonly address: string) {
    super(`${host === address ? host : `${host} resolves to ${address}, which`} is a loopback, private, link-local or reserved address`);
    this.name = 'ForbiddenAddressError';
  }
}

/**
 * A DNS lookup that refuses forbidden addresses. The host is resolved once, here, and the socket
 * connects to exactly the addresses checked here, so a name that resolves differently a moment
 * later (DNS rebinding) gains nothing.
 */
export function guardedLookup(allowPrivate: boolean, resolveHost: ResolveHost): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    Promise.resolve(hostname).then(resolveHost).then(
      (answers) => {
        const list = answers.filter((a) => !family || family === a.family);
        const bad = allowPrivate ? undefined : list.find((a) => isForbiddenAddress(a.address));
        if (bad) return callback(new ForbiddenAddressError(hostname, bad.address), '', 0);
        const first = list[0];
        if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, list);
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** Connections to one origin at once; more sends to it would only queue inside undici. */
export const CONNECTIONS_PER_ORIGIN = 4;

export interface GuardedDispatcherOptions {
  allowPrivate: boolean;
  connectTimeoutMs: number;
  /** How host names are resolved: the runtime's resolver (see RuntimeDeps), the one enrolment checks with. */
  resolveHost: ResolveHost;
  /** Connections per origin; default {@link CONNECTIONS_PER_ORIGIN}. 1 gives a Client per origin, not a Pool (see origin-lanes.ts). */
  connections?: number;
}

/**
 * An undici dispatcher for outbound deliveries: guarded DNS, bounded connect, short keep-alive.
 * At most four connections per origin: many recipients on one partner host (one API gateway,
 * fifty endpoints) must not queue behind a single slow connection, holding send slots that other
 * partners need, and a host is not flooded either. (One connection per origin measured the same
 * rate in `npm run bench` with half the memory, but serialised such hosts.)
 */
export function createGuardedDispatcher(options: GuardedDispatcherOptions): Agent {
  const connect = buildConnector({ lookup: guardedLookup(options.allowPrivate, options.resolveHost), timeout: options.connectTimeoutMs });
  return new Agent({
    connections: options.connections ?? CONNECTIONS_PER_ORIGIN,
    // An IP literal never goes through DNS lookup, so every connection's host is checked here too:
    // one place for every channel that uses this dispatcher.
    connect: (opts, callback) => {
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      if (!options.allowPrivate && isIP(host) !== 0 && isForbiddenAddress(host)) {
        callback(new ForbiddenAddressError(host, host), null);
        return;
      }
      connect(opts, callback);
    },
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
  });
}
