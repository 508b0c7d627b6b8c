import path from 'node:path';
import { z } from 'zod';

const flag = z
  .enum(['', '0', '1', 'false', 'true'], { message: 'must be 1, true, 0 or false' })
  .default('')
  .transform((v) => v === '1' || v === 'true');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Every environment variable tocsin reads. This is the only place that touches `process.env`:
 * the parsed {@link Config} is passed to whatever needs it.
 */
const envSchema = z.object({
  /** HTTP port of the API. Default 8080. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Address the API listens on. Default 0.0.0.0 (all interfaces). */
  TOCSIN_HOST: z.string().min(1).default('0.0.0.0'),
  /** Redis for the queues and delivery state. Default redis://127.0.0.1:6379. */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((v) => /^rediss?:\/\//.test(v), 'must start with redis:// or rediss://'),
  /** The durable archive of accepted advisories and recipients. Default ./data. */
  TOCSIN_DATA_DIR: z.string().min(1).default('./data'),
  /** Publisher keys (publishers/*.asc) and the broadcaster key pair. Default ./keys. */
  TOCSIN_KEYS_DIR: z.string().min(1).default('./keys'),
  /** Passphrase protecting the broadcaster's private key. Unset: the key is stored unencrypted. */
  TOCSIN_KEY_PASSPHRASE: z.string().optional(),
  /** Bearer token for the admin API. Unset: the admin API is off. */
  TOCSIN_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Allow webhook targets on loopback, private, link-local or metadata addresses. Default off. */
  TOCSIN_ALLOW_PRIVATE_TARGETS: flag,
  /** Prefix of every Redis key and BullMQ queue, so that installations can share a Redis. Default tocsin. */
  TOCSIN_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('tocsin'),
  /** Delivery attempts per webhook recipient before it is marked failed. Default 18 (7 to 15 hours). */
  TOCSIN_WEBHOOK_MAX_ATTEMPTS: positiveInt(18),
  /** First retry delay; each later one doubles, with jitter. Default 5000 ms. */
  TOCSIN_RETRY_BASE_MS: positiveInt(5000),
  /** Longest delay between two retries. Default 7200000 ms (2 hours). */
  TOCSIN_RETRY_MAX_MS: positiveInt(2 * 60 * 60 * 1000),
  /** Timeout of each phase of a webhook request: connect (at most 5 s), the answer's headers, its body. Default 10000 ms. */
  TOCSIN_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  /** Webhook requests in flight at once in one worker process. Default 256. */
  TOCSIN_WEBHOOK_CONCURRENCY: positiveInt(256),
  /** Recipients per fan-out batch job. Default 500. */
  TOCSIN_FANOUT_BATCH_SIZE: positiveInt(500),
  /** Email address in the broadcaster key's user id (used when the key is created). */
  TOCSIN_KEY_EMAIL: z.string().email().default('tocsin@localhost.invalid'),
  /** Public base URL of this service, used in notices. Default http://localhost:PORT. */
  TOCSIN_PUBLIC_URL: z.string().url().optional(),
  /** pino log level. Default info. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  redisUrl: string;
  dataDir: string;
  keysDir: string;
  keyPassphrase: string | undefined;
  adminToken: string | undefined;
  allowPrivateTargets: boolean;
  prefix: string;
  keyEmail: string;
  publicUrl: string;
  logLevel: string;
  webhook: {
    maxAttempts: number;
    timeoutMs: number;
    concurrency: number;
  };
  retry: { baseMs: number; maxMs: number };
  fanoutBatchSize: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.TOCSIN_HOST,
    redisUrl: e.REDIS_URL,
    dataDir: path.resolve(e.TOCSIN_DATA_DIR),
    keysDir: path.resolve(e.TOCSIN_KEYS_DIR),
    keyPassphrase: e.TOCSIN_KEY_PASSPHRASE,
    adminToken: e.TOCSIN_ADMIN_TOKEN,
    allowPrivateTargets: e.TOCSIN_ALLOW_PRIVATE_TARGETS,
    prefix: e.TOCSIN_QUEUE_PREFIX,
    keyEmail: e.TOCSIN_KEY_EMAIL,
    publicUrl: (e.TOCSIN_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    logLevel: e.LOG_LEVEL,
    webhook: {
      maxAttempts: e.TOCSIN_WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: e.TOCSIN_WEBHOOK_TIMEOUT_MS,
      concurrency: e.TOCSIN_WEBHOOK_CONCURRENCY,
    },
    retry: { baseMs: e.TOCSIN_RETRY_BASE_MS, maxMs: e.TOCSIN_RETRY_MAX_MS },
    fanoutBatchSize: e.TOCSIN_FANOUT_BATCH_SIZE,
  };
}
