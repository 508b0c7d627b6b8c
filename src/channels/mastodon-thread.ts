import type { MastodonNoticePayload } from '../notices/mastodon-notice';

/** What an instance allows in one status, from `GET /api/v2/instance`. */
export interface StatusLimits {
  maxCharacters: number;
  /** Every URL counts as this many characters, whatever its length (23 on stock Mastodon). */
  charactersReservedPerUrl: number;
}

/** The limit cannot hold one line of the signed block, so no thread can carry it. */
export class ThreadDoesNotFitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThreadDoesNotFitError';
  }
}

const URL_PATTERN = /https?:\/\/[^\s<>"]+/g;
const TRAILING_PUNCTUATION = '.,:;!?\'")]}';

/** How many punctuation characters end `url`. A loop: `/[.,:;!?'")\]}]+$/` was quadratic in a run of them. */
function trailingPunctuation(url: string): number {
  let n = 0;
  while (n < url.length && TRAILING_PUNCTUATION.includes(url[url.length - 1 - n]!)) n++;
  return n;
}

/**
 * Mastodon's count, or a little more, never less: a URL costs the reserved length, unless it is
 * longer (an address Mastodon does not take for a URL counts in full), plus any trailing
 * punctuation its URL parser might leave outside. Code points are at least grapheme clusters.
 */
export function countCharacters(text: string, limits: StatusLimits): number {
  let count = 0;
  let at = 0;
  for (const m of text.matchAll(URL_PATTERN)) {
    count += Array.from(text.slice(at, m.index)).length;
    const url = Array.from(m[0]);
    const trailing = trailingPunctuation(m[0]);
    count += Math.max(url.length, limits.charactersReservedPerUrl) + trailing;
    at = m.index + m[0].length;
  }
  return count + Array.from(text.slice(at)).length;
}

/**
 * The statuses of one notice on one instance, first to last; each is posted as a reply to the one
 * before. Deterministic for a payload and limits, so a retry posts the same texts under the same
 * idempotency keys. The content warning counts against the limit of every status.
 */
export function planThread(payload: MastodonNoticePayload, limits: StatusLimits): string[] {
  const budget = limits.maxCharacters - Array.from(payload.spoiler_text).length;
  const cost = (text: string) => countCharacters(text, limits);
  const whole = `${payload.summary}\n\n${payload.cleartext}`;
  if (cost(whole) <= budget) return [whole];
  return [...splitLoosely(payload.summary, budget, cost), ...splitSignedBlock(payload.cleartext, budget, cost)];
}

/**
 * Cuts the signed block only at a line break between two non-blank lines, so that every status
 * starts and ends with a visible character (nothing for Mastodon to strip) and joining the
 * statuses with one line break gives back the block exactly.
 */
export function splitSignedBlock(block: string, budget: number, cost: (t: string) => number): string[] {
  const lines = block.split('\n');
  const canCut = (j: number) => j === lines.length || (/\S$/.test(lines[j - 1]!) && /^\S/.test(lines[j]!));
  const chunks: string[] = [];
  let start = 0;
  while (start < lines.length) {
    let cut = -1;
    for (let j = start + 1; j <= lines.length && cost(lines.slice(start, j).join('\n')) <= budget; j++) {
      if (canCut(j)) cut = j;
    }
    if (cut < 0) throw new ThreadDoesNotFitError(`a status of at most ${budget} characters cannot hold line ${start + 1} of the signed notice`);
    chunks.push(lines.slice(start, cut).join('\n'));
    start = cut;
  }
  return chunks;
}

const SEPARATORS = ['\n\n', '\n', ' '] as const;

/** The readable summary is not signed: it may be cut between paragraphs, lines, words or letters. */
function splitLoosely(text: string, budget: number, cost: (t: string) => number, level = 0): string[] {
  if (cost(text) <= budget) return text.trim() === '' ? [] : [text.trim()];
  const sep = SEPARATORS[level];
  if (sep === undefined) return splitByLength(text, budget, cost);
  const out: string[] = [];
  let current = '';
  for (const unit of text.split(sep)) {
    if (cost(unit) > budget) {
      if (current !== '') out.push(current);
      const pieces = splitLoosely(unit, budget, cost, level + 1);
      current = pieces.pop() ?? '';
      out.push(...pieces);
      continue;
    }
    const joined = current === '' ? unit : `${current}${sep}${unit}`;
    if (cost(joined) <= budget) {
      current = joined;
    } else {
      out.push(current);
      current = unit;
    }
  }
  if (current !== '') out.push(current);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function splitByLength(text: string, budget: number, cost: (t: string) => number): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  let current = '';
  for (const ch of chars) {
    if (cost(current + ch) > budget && current !== '') {
      out.push(current);
      current = '';
    }
    current += ch;
  }
  if (current !== '') out.push(current);
  return out;
}
