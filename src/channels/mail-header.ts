/**
 * Header fields that no value can break out of. A header ends at CRLF and the header block at an
 * empty line, so a value holding a line break could add a header (`Bcc:`) or end the block and
 * put its own body in front of the signed one. Intake refuses such text already; this is the
 * second wall, for every value, whichever field it came from.
 */

const CRLF = '\r\n';
/** RFC 2047: an encoded-word is at most 75 characters; RFC 5322: lines should stay under 78. */
const ENCODED_WORD_MAX = 75;
const LINE_MAX = 78;
/** RFC 2047: a line holding encoded-words is at most 76 characters. */
const ENCODED_LINE_MAX = 76;
/** Longer than this, a word could not be folded under RFC 5322's hard limit of 998 per line. */
const PLAIN_WORD_MAX = 900;

/**
 * An unstructured field (Subject): the value as is when it is printable ASCII that no mail
 * reader would decode (no `=?`), folded at spaces; otherwise the whole value as RFC 2047
 * Q-encoded words, in which CR, LF and every other byte outside a small safe set are `=XX`.
 */
export function unstructuredHeader(name: string, value: string): string {
  const plain = /^[\x20-\x7e]*$/.test(value) && !value.includes('=?') && value.split(' ').every((w) => w.length <= PLAIN_WORD_MAX);
  return plain ? foldAtSpaces(`${name}: ${value}`) : `${name}: ${encodedWords(value, ENCODED_LINE_MAX - name.length - 2).join(`${CRLF} `)}`;
}

/**
 * A structured field tocsin builds itself (addresses, ids, URLs, content types): printable
 * ASCII and spaces only. Anything else is a bug upstream, refused here rather than sent.
 */
export function structuredHeader(name: string, value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`the ${name} header value holds characters a header cannot carry`);
  return foldAtSpaces(`${name}: ${value}`);
}

/** Folds before a space so each line stays under 78 characters where the words allow it. */
function foldAtSpaces(line: string): string {
  const lines: string[] = [];
  let current = '';
  // Whether `current` holds more than white space, kept as we go: asking `current.trim()` at each
  // word re-read a growing run of spaces, quadratic in it.
  let hasText = false;
  for (const [index, word] of line.split(' ').entries()) {
    if (index === 0) current = word;
    else if (current.length + 1 + word.length > LINE_MAX && hasText) {
      lines.push(current);
      current = ` ${word}`;
      hasText = false;
    } else current += ` ${word}`;
    hasText ||= word.trim() !== '';
  }
  lines.push(current);
  return lines.join(CRLF);
}

/** RFC 2047 section 5 (3): what a Q-encoded word may carry as itself; a space is "_". */
const Q_LITERAL = /^[A-Za-z0-9!*+\-/]$/;

/** Each ASCII character as a Q-encoded word carries it, computed once: most values are mostly ASCII. */
const Q_ASCII = Array.from({ length: 128 }, (_, code) => {
  const char = String.fromCharCode(code);
  return char === ' ' ? '_' : Q_LITERAL.test(char) ? char : `=${code.toString(16).toUpperCase().padStart(2, '0')}`;
});

/** Other characters as they were last encoded: a value tends to repeat a few of them. Bounded, as values are hostile. */
const qOther = new Map<string, string>();

function qEncoded(char: string): string {
  const code = char.codePointAt(0)!;
  if (code < 128) return Q_ASCII[code]!;
  let encoded = qOther.get(char);
  if (encoded === undefined) {
    encoded = [...Buffer.from(char, 'utf8')].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (qOther.size >= 4096) qOther.clear();
    qOther.set(char, encoded);
  }
  return encoded;
}

/**
 * The value as `=?UTF-8?Q?...?=` words, none over 75 characters and the first short enough to
 * follow the field name; each holds whole characters, never half of a UTF-8 sequence.
 */
function encodedWords(value: string, firstMax: number): string[] {
  const open = '=?UTF-8?Q?';
  const close = '?=';
  const words: string[] = [];
  let current = '';
  let max = Math.min(firstMax, ENCODED_WORD_MAX);
  for (const char of value) {
    const encoded = qEncoded(char);
    if (current !== '' && open.length + current.length + encoded.length + close.length > max) {
      words.push(`${open}${current}${close}`);
      current = '';
      max = ENCODED_WORD_MAX;
    }
    current += encoded;
  }
  words.push(`${open}${current}${close}`);
  return words;
}
