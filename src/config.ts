import path from 'node:path';
import { z } from 'zod';
import { channelNames, type ChannelName } from './channels/channel';
import { defaultTemplatesDir } from './notices/render-notices';

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
  /** Email address in the broadcaster key's user id (used when the key is created). */
  TOCSIN_KEY_EMAIL: z.string().email().default('tocsin@localhost.invalid'),
  /** Public base URL of this service, used in notices. Default http://localhost:PORT. */
  TOCSIN_PUBLIC_URL: z.string().url().optional(),
  /** Notice templates (email.txt, email.html, slack.txt, mastodon.txt). Default: templates/ of the package. */
  TOCSIN_TEMPLATES_DIR: z.string().min(1).optional(),
  /** pino log level. Default info. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Channels this configuration can deliver over: email needs relays. */
export function enabledChannels(config: Config): ChannelName[] {
  return channelNames.filter((c) => c !== 'email' || config.email.smtpUrls.length > 0);
}

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
  if (e.TOCSIN_SMTP_URLS.length > 0 && !e.TOCSIN_MAIL_FROM) {
    throw new ConfigError(['TOCSIN_MAIL_FROM: is required when TOCSIN_SMTP_URLS is set']);
  }
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
    templatesDir: e.TOCSIN_TEMPLATES_DIR ? path.resolve(e.TOCSIN_TEMPLATES_DIR) : defaultTemplatesDir(),
    webhook: {
      maxAttempts: e.TOCSIN_WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: e.TOCSIN_WEBHOOK_TIMEOUT_MS,
      concurrency: e.TOCSIN_WEBHOOK_CONCURRENCY,
    },
    retry: { baseMs: e.TOCSIN_RETRY_BASE_MS, maxMs: e.TOCSIN_RETRY_MAX_MS },
    fanoutBatchSize: e.TOCSIN_FANOUT_BATCH_SIZE,
    email: { smtpUrls: e.TOCSIN_SMTP_URLS, from: e.TOCSIN_MAIL_FROM, concurrency: e.TOCSIN_EMAIL_CONCURRENCY },
    channels: {
      maxAttempts: e.TOCSIN_MAX_ATTEMPTS,
      timeoutMs: e.TOCSIN_CHANNEL_TIMEOUT_MS,
      slackConcurrency: e.TOCSIN_SLACK_CONCURRENCY,
      mastodonConcurrency: e.TOCSIN_MASTODON_CONCURRENCY,
    },
  };
}
