/**
 * Plain-text hygiene for Mastodon posts. Mastodon turns `@name` into a mention (which notifies
 * that account) and `#word` into a hashtag; advisory text is not ours to let do either. A ZERO
 * WIDTH SPACE after the sigil breaks both patterns and stays invisible to readers. Notices sign
 * the neutralised text, so what is posted is exactly what is signed.
 */

import { trimLineEnds } from './line-ends';

const ZWSP = '\u200B';

/**
 * Where Mastodon sees a mention or a hashtag, ported from its own patterns and taking the union
 * over the versions read, so that every place an instance in service would link is covered:
 *
 * - mention, `Account::MENTION_RE`: today `(?<![=/[:word:]])@`; older releases `[^[:word:]|/]@`,
 *   which also took "=" before the "@". Ruby's `[[:word:]]` holds letters, marks, decimal digits
 *   and connector punctuation (and, by some definitions, other alphabetic characters such as
 *   "Ⅻ"); never "²" or "①". Only those four classes count as word characters here, so an "@" is
 *   neutralised unless "/" or a letter, mark, decimal digit or connector comes before it.
 * - hashtag, `Tag::HASHTAG_RE`: today `(?<=^|[[:space:]])[#＃]`; older releases
 *   `(?:^|[^/)\w])#` with Ruby's ASCII-only `\w`, which took "é#tag" and "=#tag"; and a form
 *   that refuses only "=", "/", ")" and `\p{Alnum}` before the "#", which takes "_#tag". A "#" is
 *   neutralised unless "/", ")" or an ASCII letter or digit comes before it: the only characters
 *   every one of these refuses.
 *
 * The fullwidth "＠" is neutralised like "@" (twitter-text, which some clients use, accepts it).
 * Both patterns look at one character before the sigil: linear in the text.
 */
const MENTION_SIGIL = /(?<![/\p{L}\p{M}\p{Nd}\p{Pc}])[@\uFF20](?!\u200B)/gu;
const HASHTAG_SIGIL = /(?<![/)A-Za-z0-9])[#\uFF03](?!\u200B)/gu;

/** Breaks every mention and hashtag Mastodon would see (see above) with a ZERO WIDTH SPACE. */
export function neutraliseMentions(text: string): string {
  return text.replace(MENTION_SIGIL, `$&${ZWSP}`).replace(HASHTAG_SIGIL, `$&${ZWSP}`);
}

/** A cleartext block inside advisory text could pass for ours; its dashes lose their meaning. */
function defuseArmor(text: string): string {
  return text.replace(/-{5}/g, `-${ZWSP}----`);
}

/** For a value on one line of the signed text: no line breaks, so no value can forge a line. */
export function escapeSignedValue(text: string): string {
  return defuseArmor(neutraliseMentions(text.replace(/\s+/g, ' ').trim()));
}

/** For the readable summary: paragraphs survive, but never more than one blank line. */
export function escapeSummaryValue(text: string): string {
  const tidy = trimLineEnds(text.replace(/\r\n?/g, '\n'))
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return defuseArmor(neutraliseMentions(tidy));
}

/** Lines without trailing blanks and no runs of blank lines: Mastodon would not keep them. */
export function tidyLines(text: string, dropBlankLines: boolean): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trimEnd());
  const kept = dropBlankLines ? lines.filter((l) => l !== '') : lines;
  return kept.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}
