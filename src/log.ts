import pino, { type Logger } from 'pino';

/** Structured JSON logs. Secrets are redacted by key wherever they appear. */
export function createLogger(level: string, name = 'tocsin'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'passphrase', '*.passphrase'],
      censor: '[redacted]',
    },
  });
}
