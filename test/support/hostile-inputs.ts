import type { Rng } from './fuzz';
import type { Answer } from './hostile-rig';

/** Field names randomJson uses for objects unless told others: the advisory and recipient fields. */
const DEFAULT_KEYS = ['document', 'signatures', 'type', 'url', 'address'];

/**
 * Any JSON value, nested a little: the shapes a confused or hostile client might send. `keys` are
 * the field names its objects use besides `__proto__`, `constructor` and random ones: a route's own
 * field names, so that some values reach its validation instead of stopping at the first key.
 */
export function randomJson(rng: Rng, keys: readonly string[] = DEFAULT_KEYS, depth = 0): unknown {
  switch (rng.int(0, depth >= 3 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return rng.bool();
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 1_000_001]);
    case 3:
      return rng.bytes(rng.int(0, 40)).toString('latin1');
    case 4:
      return rng.pick(['', 'x', '\u0000', '\ud800', '-----BEGIN PGP SIGNATURE-----', '__proto__', 'A'.repeat(5000), '\u{1F4A3}', 'webhook', 'http://127.0.0.1:9/']);
    case 5:
      return Array.from({ length: rng.int(0, 5) }, () => randomJson(rng, keys, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(0, 5) }, () => [rng.pick([...keys, '__proto__', 'constructor', rng.bytes(4).toString('hex')]), randomJson(rng, keys, depth + 1)]),
      );
  }
}

/** Bytes that are JSON-ish without being JSON: the parser's corners. */
export function tokenSoup(rng: Rng): string {
  const tokens = ['{', '}', '[', ']', ':', ',', '"', '"document"', '"signatures"', 'null', 'true', '1e999', '-', '0', '\\u', '\\', ' ', '\n', '"\\ud800"', '/*', '\ufeff'];
  return Array.from({ length: rng.int(0, 200) }, () => rng.pick(tokens)).join('');
}

/**
 * A path segment where an id belongs: percent-escapes of random bytes, broken escapes, overlong,
 * encoded dot segments and separators, names of things that are not advisories, or plain ids.
 */
export function oddSegment(rng: Rng): string {
  const segment = pickSegment(rng);
  // A lone "." (or "%2e") is no id at all: a URL parser drops it, leaving the parent route.
  return /^(\.|%2e)$/i.test(segment) ? `${segment}x` : segment;
}

function pickSegment(rng: Rng): string {
  switch (rng.int(0, 6)) {
    case 0:
      return [...rng.bytes(rng.int(1, 60))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    case 1:
      return rng.pick(['%', '%Z', '%E0%A4%A', '%ff', '%C0%AF', '%ED%A0%80', '%00', '%2e%2e', '%2e%2e%2f%2e%2e', '%2F..%2F..%2Fetc%2Fpasswd']);
    case 2:
      return 'A'.repeat(rng.int(129, 8000));
    case 3:
      return encodeURIComponent(rng.bytes(rng.int(1, 40)).toString('utf8'));
    case 4:
      return `ACME-${rng.int(0, 99)}${rng.pick(['%20', '%0a', '%09', '+', ';', ',', '@'])}`;
    case 5:
      return encodeURIComponent(rng.pick(['__proto__', 'constructor', 'toString', 'recipients.jsonl', 'advisories']));
    default:
      return rng.pick(['ACME-2026-0001', 'NOPE-1', 'a'.repeat(128)]);
  }
}

/** One of the three kinds of hostile body, by turn: random bytes, JSON-ish soup, a random JSON value. */
export function randomBody(rng: Rng, i: number, keys?: readonly string[], maxBytes = 2048): Buffer | string {
  const kind = i % 3;
  return kind === 0 ? rng.bytes(rng.int(0, maxBytes)) : kind === 1 ? tokenSoup(rng) : JSON.stringify(randomJson(rng, keys));
}

/** `bytes` with one invalid UTF-8 sequence inserted at a random place. */
export function withInvalidUtf8(rng: Rng, bytes: Buffer): { body: Buffer; what: string } {
  const invalid = [[0x80], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xff]];
  const at = rng.int(0, bytes.length);
  const bad = Buffer.from(rng.pick(invalid));
  return { body: Buffer.concat([bytes.subarray(0, at), bad, bytes.subarray(at)]), what: `${bad.toString('hex')} at byte ${at}` };
}

/** 100,000 levels of nesting, as arrays and as objects. */
export const DEEP = { arrays: '['.repeat(100_000) + ']'.repeat(100_000), objects: '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) };

/** The fields a 4xx named. */
export const fieldsOf = (answer: Answer): string[] => ((JSON.parse(answer.body) as { error: { fields?: { field: string }[] } }).error.fields ?? []).map((f) => f.field);

/** The error code of a 4xx. */
export const codeOf = (answer: Answer): string | undefined => (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;

/** Runs `fn` over `items`, `width` at a time: gpg signing is the slow part. */
export async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}
