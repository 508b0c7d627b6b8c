/**
 * The process cannot start, and the message says in one line what is wrong and what to do about
 * it: the CLI prints `tocsin: <message>` and exits 1, with no stack trace to read past.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** The errno code of a failed system call (EACCES, EADDRINUSE...), or the error's name. */
export function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.name ?? 'Error';
}
