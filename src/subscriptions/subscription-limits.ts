import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** How often one client, and one address, may ask (TOCSIN_SUBSCRIBE_PER_IP_PER_HOUR, TOCSIN_SUBSCRIBE_PER_ADDRESS_PER_DAY). */
export interface SubscriptionLimitOptions {
  perIpPerHour: number;
  perAddressPerDay: number;
}

/** A request past a limit, and how long until the next would be let through. */
export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counters of subscription requests, in Redis so that every API process counts together and a
 * restart forgives nobody. Should Redis be unreachable, each process counts alone in memory
 * (rate-limiter-flexible's insurance limiter): the limits hold, only no longer shared.
 */
export interface SubscriptionLimits {
  /** One request from this client address. */
  fromClient(ip: string): Promise<LimitVerdict>;
  /** One confirmation mail to this address, whoever asked. */
  toAddress(address: string): Promise<LimitVerdict>;
}

const HOUR_S = 3600;
const DAY_S = 24 * HOUR_S;

export function createSubscriptionLimits(redis: Redis, prefix: string, options: SubscriptionLimitOptions): SubscriptionLimits {
  const limiter = (name: string, points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      // Beside tocsin's other keys (queue/redis-keys.ts), under the installation's prefix.
      keyPrefix: `${prefix}:subscribe-limit:${name}`,
      points,
      duration,
      insuranceLimiter: new RateLimiterMemory({ points, duration }),
    });
  const perIp = limiter('ip', options.perIpPerHour, HOUR_S);
  const perAddress = limiter('address', options.perAddressPerDay, DAY_S);
  const consume = async (l: RateLimiterRedis, key: string): Promise<LimitVerdict> => {
    try {
      await l.consume(key);
      return { allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
      throw rejection;
    }
  };
  return {
    fromClient: (ip) => consume(perIp, ip),
    // Addresses differ only in case as often as not; one inbox, one counter.
    toAddress: (address) => consume(perAddress, address.toLowerCase()),
  };
}
