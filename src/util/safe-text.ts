import type { z } from 'zod';

/**
 * The rule for every text a person or partner submits (README, "Text that cannot deceive"): no
 * character that makes text display differently from what was signed or reviewed, or that lets
 * it break out of the line or header it is put in.
 *
 * Refused: C0 controls except tab (and line feed, in multi-line fields only: carriage return is
 * refused too, so a line ends one way), DEL, C1 controls, the bidirectional embeddings, overrides
 * and isolates (U+202A-U+202E, U+2066-U+2069), and the line and paragraph separators U+2028 and
 * U+2029. Zero-width joiner and non-joiner stay allowed: scripts such as Persian and Devanagari,
 * and emoji sequences, need them.
 */

/**
 * One character class and no quantifier: a search is a single pass over the text, whatever it
 * holds. Tab and line feed are left out here; single-line text adds line feed below.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const REFUSED_MULTI_LINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const REFUSED_SINGLE_LINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** `single`: one line (ids, titles, names, versions); `multi`: may hold line feeds (summaries). */
export type TextLines = 'single' | 'multi';

/** "U+202E", as the Unicode standard writes a code point. */
export function codePointName(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

function kindOf(codePoint: number): string {
  if (codePoint === 0x0a) return 'a line feed, in a single-line field';
  if (codePoint === 0x0d) return 'a carriage return (lines end with a line feed alone)';
  if (codePoint < 0x20) return 'a control character';
  if (codePoint === 0x7f) return 'the control character DEL';
  if (codePoint <= 0x9f) return 'a C1 control character';
  if (codePoint === 0x2028) return 'the line separator';
  if (codePoint === 0x2029) return 'the paragraph separator';
  if (codePoint >= 0x2066) return 'a bidirectional isolate';
  return 'a bidirectional embedding or override';
}

/**
 * Why `text` breaks the rule, naming the first offending code point (e.g. "U+202E (a
 * bidirectional embedding or override) is not allowed..."), or null when it is fine. Linear.
 */
export function unsafeTextProblem(text: string, lines: TextLines): string | null {
  const found = (lines === 'single' ? REFUSED_SINGLE_LINE : REFUSED_MULTI_LINE).exec(text);
  if (!found) return null;
  const codePoint = found[0].codePointAt(0) ?? 0;
  // Counted in characters as a person counts them, not UTF-16 units: an emoji before it is one.
  const position = [...text.slice(0, found.index)].length + 1;
  return `${codePointName(codePoint)} (${kindOf(codePoint)}) at character ${position} is not allowed: control, bidirectional-override and separator characters can make text read differently from what was written`;
}

/**
 * The rule as a zod check, for `z.string().check(safeText('single'))`. Put it before `.trim()`,
 * so the text is judged as it was sent, not after its edges were cut.
 */
export function safeText(lines: TextLines) {
  return (ctx: z.core.ParsePayload<string>): void => {
    const problem = unsafeTextProblem(ctx.value, lines);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  };
}
