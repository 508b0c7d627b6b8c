import pino, { type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Config } from './config';
import type { LogFormat } from './log-format';

/** Keys whose values are secrets wherever tocsin could log them: recipients, config, HTTP headers. */
const SECRET_KEYS = [
  'secret', 'token', 'access_token', 'unsubscribe_token', 'password', 'passphrase',
  'keyPassphrase', 'adminToken', 'metricsToken', 'smtpUrls', 'redisUrl', 'authorization', 'cookie',
];
/**
 * Objects that may hold those keys. Paths are spelled out rather than `*.secret`: pino's wildcard
 * redaction walks every key of every line and made a delivery line six times as costly (15 µs
 * against 2.5 µs). Under any other key, the line scrubbing below still catches secret shapes and
 * the configured secret values; an unshaped recipient token (Mastodon) relies on these paths.
 */
const SECRET_PARENTS = ['recipient', 'config', 'config.email', 'email', 'headers', 'req.headers', 'request.headers', 'options', 'body', 'err'];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_PARENTS.flatMap((parent) => SECRET_KEYS.map((key) => `${parent}.${key}`))];

/**
 * What no log line may contain whatever its key: credentials in a URL (`smtps://user:pass@`),
 * bearer tokens, Slack tokens and webhook secrets. An error message from a library is text, not a
 * key pino can redact, so every line is checked on its way out.
 */
const SECRET_SHAPES: { hint: RegExp; shape: RegExp; replacement: string }[] = [
  // A scheme starts where a run of scheme characters starts, not at every "\b" inside one: from
  // each "." of "a.a.a.a..." the scan ran to the end of the run, quadratic in a long line.
  { hint: /@/, shape: /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"\\]+@/gi, replacement: '$1[redacted]@' },
  // In a JSON line a tab or line break after "Bearer" is written escaped (`\t`), not as white space.
  { hint: /bearer/i, shape: /\b(bearer(?:\s|\\[tnr])+)[A-Za-z0-9._~+/=-]+/gi, replacement: '$1[redacted]' },
  { hint: /xox/, shape: /\bxox[a-z]-[A-Za-z0-9-]+/g, replacement: 'xox-[redacted]' },
  { hint: /whsec_/, shape: /\bwhsec_[A-Za-z0-9+/=]+/g, replacement: 'whsec_[redacted]' },
];

/** Secrets shorter than this are not searched for in lines: they would mangle ordinary words. */
const MIN_SECRET_LENGTH = 6;

export interface LoggerOptions {
  name?: string;
  /** Exact secret values (from {@link configSecrets}) that must never appear in a line. */
  secrets?: readonly string[];
  /** Where lines go. Default: stdout. */
  destination?: DestinationStream;
  /** Default `json`. `auto` is pretty only when writing to stdout, and stdout is a terminal. */
  format?: LogFormat;
}

/** Removes every secret shape and every known secret value from one serialised line. */
export function scrubLine(line: string, secrets: readonly string[] = []): string {
  let out = line;
  // The cheap hint first: most lines hold none of these, and a regex replace per line adds up.
  for (const { hint, shape, replacement } of SECRET_SHAPES) if (hint.test(out)) out = out.replace(shape, replacement);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  return out;
}

/**
 * The secrets of a configuration as they could appear in a line: raw, JSON-escaped, and for URLs
 * their password both percent-encoded and decoded.
 */
export function configSecrets(config: Config): string[] {
  const values: string[] = [];
  for (const v of [config.adminToken, config.metricsToken, config.keyPassphrase]) if (v) values.push(v);
  for (const url of [...config.email.smtpUrls, config.redisUrl]) {
    try {
      const u = new URL(url);
      if (u.password) values.push(u.password, decodeURIComponent(u.password));
    } catch {
      // Config validation already refused malformed URLs.
    }
  }
  const forms = values.flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]);
  return [...new Set(forms)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/**
 * Turns a JSON line into a readable one, then scrubs that. pino-pretty runs as a function,
 * in-process, not as pino's worker-thread transport, which would print lines that
 * {@link scrubLine} never saw. The readable text is what gets scrubbed, not the JSON before it:
 * pino-pretty undoes JSON escaping, so `Bearer\tTOKEN` in JSON, which no shape matches, would
 * be printed as `Bearer<tab>TOKEN`.
 */
function prettyLines(secrets: readonly string[], colorize: boolean): (line: string) => string {
  const pretty = prettyFactory({ colorize, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' });
  return (line) => scrubLine(pretty(line), secrets);
}

/**
 * Structured logs: JSON, one object per line, or readable lines for a terminal (see
 * {@link LogFormat}). Either way secrets are redacted by key, and every line is scrubbed of
 * secret shapes and of the configured secret values before it is written.
 */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination(1);
  const secrets = options.secrets ?? [];
  const toTerminal = options.destination === undefined && process.stdout.isTTY === true;
  const format = options.format === 'auto' ? (toTerminal ? 'pretty' : 'json') : (options.format ?? 'json');
  // Colours only where a terminal shows them: in a file they are escape codes.
  const toText = format === 'pretty' ? prettyLines(secrets, toTerminal) : (line: string) => scrubLine(line, secrets);
  const scrubbed: DestinationStream = { write: (line: string) => destination.write(toText(line)) };
  return pino(
    {
      name: options.name ?? 'tocsin',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    scrubbed,
  );
}
