/**
 * An ISO 8601 instant without milliseconds, as the mirror's pages show dates (an OpenPGP
 * signature's date has whole seconds only, so more would suggest a precision that is not there).
 */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
