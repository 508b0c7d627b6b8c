/**
 * How lines are written: `json`, one object per line, for files, pipes and log collectors;
 * `pretty`, pino-pretty's readable lines, for a person at a terminal; `auto`, pretty when the
 * lines go to stdout and stdout is a terminal, JSON otherwise.
 *
 * Alone so that config.ts can name the formats without importing the logger, which reads the
 * config for its secrets.
 */
export const logFormats = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];
