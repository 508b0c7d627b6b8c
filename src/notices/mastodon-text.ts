/**
 * Plain-text hygiene for Mastodon posts. Mastodon turns `@name` into a mention (which notifies
 * that account) and `#word` into a hashtag; advisory text is not ours to let do either. A ZERO
 * WIDTH SPACE after the sigil breaks both patterns and stays invisible to readers. Notices sign
 * the neutralised text, so what is posted is exactly what is signed.
 */

import { trimLineEnds } from './line-ends';

const ZWSP = '\u200B';

/**
 * Mastodon's mention pattern refuses a word character, "/" or "=" before "@", and its hashtag
 * pattern an alphanumeric, "/", "=" or ")" before "#"; neutralising every sigil not preceded by a
 * letter, digit or "/" is therefore a superset of both, and leaves e-mail addresses and URL paths
 * intact. The fullwidth sigils are covered because twitter-text accepts them too.
 */
export function neutraliseMentions(text: string): string {
  return text.replace(/(^|[^\p{L}\p{N}/])([@#\uFF20\uFF03])(?!\u200B)/gu, `$1$2${ZWSP}`);
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
