/**
 * JSON that every reader reads the same way. `JSON.parse` keeps the last of two equal keys, other
 * parsers the first, and a person reading the text may see either: a document with
 * `"severity": "low"` above `"severity": "critical"` would be signed by co-signers who saw one
 * value and accepted with the other. So a key may appear once per object, compared after
 * unescaping (`"severity"` and `"sev\u0065rity"` are the same key).
 */

/** What an answer says of a repeated key, the field naming where it is. */
export const DUPLICATE_KEY = 'duplicate key: a key may appear once per object (readers disagree on which of two equal keys counts)';

/** Two equal keys in one object. `path` leads to the second one, e.g. `["affected", "0", "product"]`. */
export class DuplicateKeyError extends Error {
  constructor(readonly path: readonly string[]) {
    super(`duplicate key at ${path.join('.')}`);
    this.name = 'DuplicateKeyError';
  }
}

type Frame = { kind: 'object'; keys: Set<string>; key: string | undefined; expectKey: boolean } | { kind: 'array'; index: number };

/**
 * `JSON.parse`, refusing what it would read silently: a SyntaxError for text that is not JSON,
 * a {@link DuplicateKeyError} for a repeated key at any depth.
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const duplicate = findDuplicateKey(text);
  if (duplicate) throw new DuplicateKeyError(duplicate);
  return value;
}

/**
 * The path to the first repeated key in `text`, which must already be valid JSON, or null. One
 * pass, each character looked at a bounded number of times, and an explicit stack rather than
 * recursion, so a deep or wide document costs time in proportion to its length and no call stack.
 */
export function findDuplicateKey(text: string): string[] | null {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (top?.kind === 'object' && top.expectKey) {
        const raw = text.slice(i + 1, end);
        // Only a key with an escape needs decoding; JSON.parse of one literal is linear in it.
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) return [...pathOf(stack.slice(0, -1)), key];
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b /* { */) stack.push({ kind: 'object', keys: new Set(), key: undefined, expectKey: true });
    else if (c === 0x5b /* [ */) stack.push({ kind: 'array', index: 0 });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */ && top) {
      if (top.kind === 'object') top.expectKey = true;
      else top.index += 1;
    }
    i += 1;
  }
  return null;
}

/** Index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === 0x5c /* \ */) j += 2;
    else if (c === 0x22) return j;
    else j += 1;
  }
  return j;
}

/** Where each open container's current member sits: its key, or its index. */
function pathOf(frames: readonly Frame[]): string[] {
  return frames.map((f) => (f.kind === 'object' ? (f.key ?? '') : String(f.index)));
}
