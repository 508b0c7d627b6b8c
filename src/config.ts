import path from 'node:path';
import { z } from 'zod';
import { channelNames, type ChannelName } from './channels/channel-names';
import { defaultTemplatesDir } from './notices/render-notices';
import { logFormats, type LogFormat } from './log-format';
import { httpUrl } from './util/zod-fields';
import { checkCronExpression } from './drills/drill-schedule';
import { parseSignaturePolicy, type SignatureRule } from './publish/signature-policy';

const flag = z
  .enum(['', '0', '1', 'false', 'true'], { message: 'must be 1, true, 0 or false' })
  .default('')
  .transform((v) => v === '1' || v === 'true');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Every environment variable tocsin reads. This is the only place that touches `process.env`:
 * the parsed {@link Config} is passed to whatever needs it.
 */
export const envSchema = z.object({
  /** HTTP port of the API. Default 8080. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Address the API listens on. Default 0.0.0.0 (all interfaces). */
  TOCSIN_HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * Redis for the queues and delivery state. Default redis://127.0.0.1:TOCSIN_LOCAL_REDIS_PORT;
   * set, `tocsin start` never starts a Redis of its own.
   */
  REDIS_URL: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = v === undefined ? null : redisUrlProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /**
   * With REDIS_URL unset: the loopback port of the Redis tocsin uses, where `tocsin start` starts
   * and supervises a redis-server of its own when nothing listens there. Default 6379.
   */
  TOCSIN_LOCAL_REDIS_PORT: z.coerce.number().int().min(1).max(65535).default(6379),
  /** The durable archive of accepted advisories and recipients. Default ./data. */
  TOCSIN_DATA_DIR: z.string().min(1).default('./data'),
  /** Publisher keys (publishers/*.asc) and the broadcaster key pair. Default ./keys. */
  TOCSIN_KEYS_DIR: z.string().min(1).default('./keys'),
  /** Passphrase protecting the broadcaster's private key. Unset: the key is stored unencrypted. */
  TOCSIN_KEY_PASSPHRASE: z.string().optional(),
  /** Bearer token for the admin API. Unset: the admin API is off. */
  TOCSIN_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The tocsin server the CLI's client commands talk to, e.g. https://tocsin.example.org; `--url` wins. Read by the CLI only. */
  TOCSIN_URL: httpUrl().optional(),
  /** Bearer token for GET /metrics. Unset: /metrics is open, like the read API. */
  TOCSIN_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Allow webhook targets on loopback, private, link-local or metadata addresses. Default off. */
  TOCSIN_ALLOW_PRIVATE_TARGETS: flag,
  /**
   * FOR `npm run bench` ONLY: 1 turns the durable delivery receipts off (workers add no receipt to
   * Redis, the API writes none to disk), to measure what they cost. It breaks the guarantee that a
   * Redis data loss sends nothing delivered again, and leaves /metrics without delivery numbers;
   * tocsin says so loudly at start. Default off.
   */
  TOCSIN_BENCH_RECEIPTS_OFF: flag,
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
  /**
   * Timeout of each phase of a webhook request: connect (at most 5 s), the answer's headers, each
   * silence in its body. The whole request ends at twice this at the latest. Default 10000 ms.
   */
  TOCSIN_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  /** Webhook requests in flight at once in one worker process. Default 256. */
  TOCSIN_WEBHOOK_CONCURRENCY: positiveInt(256),
  /** Recipients per fan-out batch job. Default 500. */
  TOCSIN_FANOUT_BATCH_SIZE: positiveInt(500),
  /**
   * How long a worker's claim on a job lasts without renewal (it renews every half of it), and how
   * often workers look for jobs whose claim lapsed: a job of a crashed worker is taken over within
   * about twice this. Too short, and a worker whose event loop stalls loses jobs it is still
   * running (sent again, same ids). Default 30000 ms.
   */
  TOCSIN_JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /**
   * SMTP relays for the email channel, comma-separated nodemailer URLs (smtp:// or smtps://), tried
   * in order: when one refuses or is unreachable, the next carries the message. Unset: email is off.
   */
  TOCSIN_SMTP_URLS: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((u) => u.trim()).filter((u) => u !== ''))
    .refine((urls) => urls.every((u) => /^smtps?:\/\/[^\s]+$/.test(u)), 'each relay must be an smtp:// or smtps:// URL'),
  /** The From address of notices by email, e.g. "ACME Security <security@acme.example>". */
  TOCSIN_MAIL_FROM: z.string().min(3).optional(),
  /** Attempts per email, Slack or Mastodon recipient before it is marked failed. Default 18. */
  TOCSIN_MAX_ATTEMPTS: positiveInt(18),
  /** Messages in flight at once per worker process, per channel. Defaults 64, 8, 4. */
  TOCSIN_EMAIL_CONCURRENCY: positiveInt(64),
  TOCSIN_SLACK_CONCURRENCY: positiveInt(8),
  TOCSIN_MASTODON_CONCURRENCY: positiveInt(4),
  /** Timeout of one Slack or Mastodon API call, or one SMTP exchange. Default 15000 ms. */
  TOCSIN_CHANNEL_TIMEOUT_MS: positiveInt(15_000),
  /**
   * Consecutive failures of one destination host (unreachable, timed out, a gateway's 5xx) after which a
   * worker process stops sending to it for a cool-down. 0 turns the circuit breaker off. Default 5.
   */
  TOCSIN_BREAKER_THRESHOLD: z.coerce.number().int().min(0).default(5),
  /** First cool-down of an open circuit, and of an SMTP relay that failed; doubles while it stays down. Default 30000 ms. */
  TOCSIN_BREAKER_COOLDOWN_MS: positiveInt(30_000),
  /** Longest cool-down. Default 600000 ms (10 minutes). */
  TOCSIN_BREAKER_MAX_COOLDOWN_MS: positiveInt(10 * 60 * 1000),
  /** Email address in the broadcaster key's user id (used when the key is created). */
  TOCSIN_KEY_EMAIL: z.string().email().default('tocsin@localhost.invalid'),
  /** Public base URL of this service, used in notices. Default http://localhost:PORT. */
  TOCSIN_PUBLIC_URL: httpUrl().optional(),
  /** Notice templates (the files of templates/, each overridable; see README "Templates"). Default: templates/ of the package. */
  TOCSIN_TEMPLATES_DIR: z.string().min(1).optional(),
  /**
   * The two-person rule: comma-separated SCOPE:M (SCOPE `all` or a severity, meaning that severity
   * or worse), e.g. `critical:2`. Unset: one enrolled publisher's signature suffices.
   */
  TOCSIN_REQUIRE_SIGNATURES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const parsed = parseSignaturePolicy(v);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    }),
  /** How long a submission waits for its missing signatures before it expires. Default 72 hours. */
  TOCSIN_HOLD_HOURS: z.coerce.number().positive().max(24 * 365).default(72),
  /** Runs drills by themselves: a cron expression in UTC (5 fields, or 6 with seconds). Unset: none. */
  TOCSIN_DRILL_SCHEDULE: z
    .string()
    .min(1)
    .superRefine((expression, ctx) => {
      try {
        checkCronExpression(expression);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a cron expression (${(err as Error).message}), e.g. "0 9 1 * *" for 09:00 UTC on the first of each month` });
      }
    })
    .optional(),
  /**
   * `/readyz` warns about a channel with recipients and no successful delivery, drill or real,
   * for this many days (decimals allowed). Default 35: a monthly drill, and a few days' slack.
   */
  TOCSIN_CHANNEL_STALE_DAYS: z.coerce.number().positive().max(3650).default(35),
  /** Where the static mirror is rebuilt after every publish. Default TOCSIN_DATA_DIR/mirror. */
  TOCSIN_MIRROR_DIR: z.string().min(1).optional(),
  /** Rebuild the static mirror at start and after every accepted advisory. Default on. */
  TOCSIN_MIRROR_AUTO: z
    .enum(['', '0', '1', 'false', 'true'], { message: 'must be 1, true, 0 or false' })
    .default('1')
    .transform((v) => v === '1' || v === 'true'),
  /** Public base URL the mirror is served at (absolute links in CSAF, feeds). Default TOCSIN_PUBLIC_URL. */
  TOCSIN_MIRROR_URL: httpUrl().optional(),
  /** CSAF publisher name (the issuing party). Default "tocsin". */
  TOCSIN_CSAF_PUBLISHER_NAME: z.string().min(1).optional(),
  /** CSAF publisher namespace, a URL the issuing party controls. Default: the origin of TOCSIN_MIRROR_URL. */
  TOCSIN_CSAF_PUBLISHER_NAMESPACE: httpUrl().optional(),
  /** CSAF publisher category. Default vendor. */
  TOCSIN_CSAF_PUBLISHER_CATEGORY: z.enum(['coordinator', 'discoverer', 'other', 'translator', 'user', 'vendor']).default('vendor'),
  /**
   * Which proxies in front of the API to believe about the client's address (X-Forwarded-For),
   * as express's `trust proxy` takes it: a hop count (`1`), `loopback`, or comma-separated
   * addresses and CIDR ranges. Unset: none; the client address is the connection's, so a client
   * cannot pick its own address to escape the per-IP subscription limit.
   */
  TOCSIN_TRUST_PROXY: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^(\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*|loopback|linklocal|uniquelocal)$/.test(v.trim()), 'must be a hop count, loopback, linklocal, uniquelocal, or comma-separated addresses or CIDR ranges'),
  /** Subscription requests (POST /v1/subscriptions) one client address may make per hour. Default 10. */
  TOCSIN_SUBSCRIBE_PER_IP_PER_HOUR: positiveInt(10),
  /** Confirmation mails one address may be sent per day, however many clients ask. Default 3. */
  TOCSIN_SUBSCRIBE_PER_ADDRESS_PER_DAY: positiveInt(3),
  /** Unconfirmed subscriptions kept at once; beyond it, new requests are answered alike and dropped. Default 100000. */
  TOCSIN_SUBSCRIBE_PENDING_MAX: positiveInt(100_000),
  /** pino log level. Default info. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Log lines as JSON, or readable (pino-pretty). Default auto: readable when stdout is a terminal. */
  TOCSIN_LOG_FORMAT: z.enum(logFormats).default('auto'),
});

const REDIS_URL_FORM = 'redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or rediss://...';

/**
 * What is wrong with a Redis URL, without repeating it (it may hold a password); null when fine.
 * ioredis would otherwise take a bad port or database for a connection problem, or crash later.
 */
export function redisUrlProblem(value: string): string | null {
  if (!/^rediss?:\/\//.test(value)) return `must be ${REDIS_URL_FORM}: it does not start with redis:// or rediss://`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be ${REDIS_URL_FORM}: it is not a valid URL (a port that is not a number 0-65535? a password with @, / or # not percent-encoded?)`;
  }
  if (url.hostname === '') return `must be ${REDIS_URL_FORM}: it names no host`;
  if (url.port === '0') return `must be ${REDIS_URL_FORM}: port 0`;
  if (!/^\/?(\d+)?$/.test(url.pathname)) return `must be ${REDIS_URL_FORM}: the path must be a database number, like /0`;
  return null;
}

/** TOCSIN_TRUST_PROXY as express takes it: a number is a hop count, anything else a list or a name. */
function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined) return false;
  const v = value.trim();
  return /^\d+$/.test(v) ? Number(v) : v;
}

/** Channels this configuration can deliver over: email needs relays. */
export function enabledChannels(config: Config): ChannelName[] {
  return channelNames.filter((c) => c !== 'email' || config.email.smtpUrls.length > 0);
}

export interface Config {
  port: number;
  host: string;
  redisUrl: string;
  /**
   * With REDIS_URL unset: the redis-server `tocsin start` may supervise, on 127.0.0.1:port with
   * its files in dir. null when REDIS_URL is set.
   */
  localRedis: { port: number; dir: string } | null;
  dataDir: string;
  keysDir: string;
  keyPassphrase: string | undefined;
  adminToken: string | undefined;
  /** TOCSIN_URL: where the CLI's client commands send their requests when `--url` is not given. */
  serverUrl: string | undefined;
  metricsToken: string | undefined;
  allowPrivateTargets: boolean;
  /** TOCSIN_BENCH_RECEIPTS_OFF: no durable receipts, for the benchmark's comparison only. */
  receiptsOff: boolean;
  prefix: string;
  keyEmail: string;
  publicUrl: string;
  logLevel: string;
  logFormat: LogFormat;
  templatesDir: string;
  webhook: {
    maxAttempts: number;
    timeoutMs: number;
    concurrency: number;
  };
  retry: { baseMs: number; maxMs: number };
  /** Email: relays in order of preference, and the sender. Off when `smtpUrls` is empty. */
  email: { smtpUrls: string[]; from: string | undefined; concurrency: number };
  /** Email, Slack and Mastodon share these. */
  channels: { maxAttempts: number; timeoutMs: number; slackConcurrency: number; mastodonConcurrency: number };
  /** Per worker process: circuits per destination host, and the cool-down of a failed SMTP relay. */
  breaker: { threshold: number; cooldownMs: number; maxCooldownMs: number };
  fanoutBatchSize: number;
  /** The two-person rule; empty: one signature suffices. */
  signaturePolicy: SignatureRule[];
  /** How long a held submission waits for signatures, in ms. */
  holdMs: number;
  /** TOCSIN_DRILL_SCHEDULE: when drills run by themselves; undefined: never. */
  drillSchedule: string | undefined;
  /** Days without a successful delivery after which `/readyz` warns about a channel with recipients. */
  channelStaleDays: number;
  mirror: MirrorConfig;
  jobLockMs: number;
  /** Self-service subscriptions: who may ask how often, and how many may wait for confirmation. */
  subscriptions: SubscriptionConfig;
}

/** Limits on self-service subscription requests (see README "Subscribers"). */
export interface SubscriptionConfig {
  /** express's `trust proxy`; false: the connection's address is the client's. */
  trustProxy: boolean | number | string;
  perIpPerHour: number;
  perAddressPerDay: number;
  pendingMax: number;
}

/** The static mirror: where it is written, where it is served, and who issues its CSAF documents. */
export interface MirrorConfig {
  dir: string;
  /** Rebuild at start and after each accepted advisory. */
  auto: boolean;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  publisher: { name: string; namespace: string; category: 'coordinator' | 'discoverer' | 'other' | 'translator' | 'user' | 'vendor' };
  /** The API's subscribe form, linked from the index page; only when TOCSIN_PUBLIC_URL says where the API is. */
  subscribeUrl?: string;
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
  if (e.TOCSIN_SMTP_URLS.length > 0 && !e.TOCSIN_MAIL_FROM) {
    throw new ConfigError(['TOCSIN_MAIL_FROM: is required when TOCSIN_SMTP_URLS is set']);
  }
  const publicUrl = (e.TOCSIN_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const dataDir = path.resolve(e.TOCSIN_DATA_DIR);
  const mirrorUrl = (e.TOCSIN_MIRROR_URL ?? publicUrl).replace(/\/+$/, '');
  return {
    port: e.PORT,
    host: e.TOCSIN_HOST,
    redisUrl: e.REDIS_URL ?? `redis://127.0.0.1:${e.TOCSIN_LOCAL_REDIS_PORT}`,
    localRedis: e.REDIS_URL === undefined ? { port: e.TOCSIN_LOCAL_REDIS_PORT, dir: path.join(dataDir, 'redis') } : null,
    dataDir,
    keysDir: path.resolve(e.TOCSIN_KEYS_DIR),
    keyPassphrase: e.TOCSIN_KEY_PASSPHRASE,
    adminToken: e.TOCSIN_ADMIN_TOKEN,
    serverUrl: e.TOCSIN_URL,
    metricsToken: e.TOCSIN_METRICS_TOKEN,
    allowPrivateTargets: e.TOCSIN_ALLOW_PRIVATE_TARGETS,
    receiptsOff: e.TOCSIN_BENCH_RECEIPTS_OFF,
    prefix: e.TOCSIN_QUEUE_PREFIX,
    keyEmail: e.TOCSIN_KEY_EMAIL,
    publicUrl,
    logLevel: e.LOG_LEVEL,
    logFormat: e.TOCSIN_LOG_FORMAT,
    templatesDir: e.TOCSIN_TEMPLATES_DIR ? path.resolve(e.TOCSIN_TEMPLATES_DIR) : defaultTemplatesDir(),
    webhook: {
      maxAttempts: e.TOCSIN_WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: e.TOCSIN_WEBHOOK_TIMEOUT_MS,
      concurrency: e.TOCSIN_WEBHOOK_CONCURRENCY,
    },
    retry: { baseMs: e.TOCSIN_RETRY_BASE_MS, maxMs: e.TOCSIN_RETRY_MAX_MS },
    fanoutBatchSize: e.TOCSIN_FANOUT_BATCH_SIZE,
    signaturePolicy: e.TOCSIN_REQUIRE_SIGNATURES,
    holdMs: Math.round(e.TOCSIN_HOLD_HOURS * 3_600_000),
    channelStaleDays: e.TOCSIN_CHANNEL_STALE_DAYS,
    drillSchedule: e.TOCSIN_DRILL_SCHEDULE,
    jobLockMs: e.TOCSIN_JOB_LOCK_MS,
    email: { smtpUrls: e.TOCSIN_SMTP_URLS, from: e.TOCSIN_MAIL_FROM, concurrency: e.TOCSIN_EMAIL_CONCURRENCY },
    channels: {
      maxAttempts: e.TOCSIN_MAX_ATTEMPTS,
      timeoutMs: e.TOCSIN_CHANNEL_TIMEOUT_MS,
      slackConcurrency: e.TOCSIN_SLACK_CONCURRENCY,
      mastodonConcurrency: e.TOCSIN_MASTODON_CONCURRENCY,
    },
    breaker: {
      threshold: e.TOCSIN_BREAKER_THRESHOLD,
      cooldownMs: e.TOCSIN_BREAKER_COOLDOWN_MS,
      maxCooldownMs: Math.max(e.TOCSIN_BREAKER_COOLDOWN_MS, e.TOCSIN_BREAKER_MAX_COOLDOWN_MS),
    },
    subscriptions: {
      trustProxy: trustProxySetting(e.TOCSIN_TRUST_PROXY),
      perIpPerHour: e.TOCSIN_SUBSCRIBE_PER_IP_PER_HOUR,
      perAddressPerDay: e.TOCSIN_SUBSCRIBE_PER_ADDRESS_PER_DAY,
      pendingMax: e.TOCSIN_SUBSCRIBE_PENDING_MAX,
    },
    mirror: {
      dir: e.TOCSIN_MIRROR_DIR ? path.resolve(e.TOCSIN_MIRROR_DIR) : path.join(dataDir, 'mirror'),
      auto: e.TOCSIN_MIRROR_AUTO,
      baseUrl: mirrorUrl,
      ...(e.TOCSIN_PUBLIC_URL ? { subscribeUrl: `${publicUrl}/subscribe` } : {}),
      publisher: {
        name: e.TOCSIN_CSAF_PUBLISHER_NAME ?? 'tocsin',
        namespace: e.TOCSIN_CSAF_PUBLISHER_NAMESPACE ?? new URL(mirrorUrl).origin,
        category: e.TOCSIN_CSAF_PUBLISHER_CATEGORY,
      },
    },
  };
}
