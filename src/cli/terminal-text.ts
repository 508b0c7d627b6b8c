/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts the sequences that
 * clear the screen, move the cursor or retitle the window), DEL, C1 controls (U+009B is a
 * one-character ESC[), the line and paragraph separators, and the bidirectional controls that
 * make text read in another order than it is stored. Tab is kept; a newline too when `lines`.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_OR_NEWLINE = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Text fit to print: every control character above is shown as its `\uXXXX` escape, so what a
 * signed title holds is seen rather than obeyed, and a newline inside a value cannot forge an
 * output line ("OK: good signature ...") unless `lines` allows newlines.
 */
export function printable(text: string, lines = false): string {
  return text.replace(lines ? CONTROL : CONTROL_OR_NEWLINE, escaped);
}
