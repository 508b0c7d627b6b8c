/**
 * Package URLs (purl), read by hand in one pass: a regex with nested repetition over the same
 * characters backtracked exponentially on a crafted purl (`pkg:a/b?a&a&a&...`), freezing every
 * mirror rebuild. Every function here is linear in the length of its input.
 *
 * Two verdicts: `purlProblem` is the intake rule (is this a purl at all, by the purl
 * specification's syntax), and `isConformantPurl` the mirror's stricter one (will CSAF consumers'
 * purl parsers accept it).
 */

/** A purl split into its components, each still as written (percent-encoded). */
export interface PurlParts {
  /** As written; the specification makes it case-insensitive. */
  type: string;
  /** Segments between the type and the name, empty ones included. */
  namespace: string[];
  name: string;
  /** Absent without an `@`; may be empty (`pkg:npm/x@`). */
  version?: string;
  /** Absent without a `?`; the raw query. */
  qualifiers?: string;
  /** Absent without a `#`; the raw fragment. */
  subpath?: string;
  /** Whether it starts `pkg:` exactly and has no slashes after the colon nor after the name. */
  canonicalForm: boolean;
}

export type PurlParse = { ok: true; parts: PurlParts } | { ok: false; problem: string };

const HEX = /^[0-9A-Fa-f]$/;
const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isDigit = (c: string) => c >= '0' && c <= '9';
/** RFC 3986 unreserved and sub-delims: what a URI may hold besides its delimiters and `%`. */
const isUriText = (c: string) => isAlpha(c) || isDigit(c) || "-._~!$&'()*+,;=".includes(c);
const isTypeChar = (c: string) => isAlpha(c) || isDigit(c) || c === '.' || c === '+' || c === '-';
const isKeyChar = (c: string) => isAlpha(c) || isDigit(c) || c === '.' || c === '-' || c === '_';

function decodes(part: string): boolean {
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}

/** A percent-decoded segment that would hold a "/" (`%2F`), which the specification forbids. */
const hidesSlash = (segment: string) => /%2f/i.test(segment);

/** The first character a URI may not hold, or a `%` that starts no escape; null when clean. */
function characterProblem(purl: string): string | null {
  for (let i = 0; i < purl.length; i++) {
    const c = purl[i]!;
    if (c === '%') {
      if (!HEX.test(purl[i + 1] ?? '') || !HEX.test(purl[i + 2] ?? '')) return `the "%" at position ${i + 1} does not start a %XX escape`;
      i += 2;
    } else if (!isUriText(c) && !':/@?#'.includes(c)) {
      return `the character ${JSON.stringify(c)} at position ${i + 1} must be percent-encoded`;
    }
  }
  return null;
}

/**
 * Splits a purl the way the purl specification's "how to parse" does (subpath, qualifiers,
 * scheme, type, version, name, namespace), refusing what its syntax rules forbid. Separators
 * count once: a second `#` or `?`, or an `@` in the namespace or name, must be percent-encoded.
 */
export function parsePurl(purl: string): PurlParse {
  const bad = (problem: string): PurlParse => ({ ok: false, problem });
  const chars = characterProblem(purl);
  if (chars) return bad(chars);
  if (purl.slice(0, 4).toLowerCase() !== 'pkg:') return bad('must start with "pkg:", e.g. pkg:npm/acme-server@1.2.3');

  let rest = purl.slice(4);
  const hash = rest.indexOf('#');
  const subpath = hash < 0 ? undefined : rest.slice(hash + 1);
  if (hash >= 0) rest = rest.slice(0, hash);
  if (subpath !== undefined && /[#?]/.test(subpath)) return bad('a "#" or "?" inside the subpath must be percent-encoded');
  const question = rest.indexOf('?');
  const qualifiers = question < 0 ? undefined : rest.slice(question + 1);
  if (question >= 0) rest = rest.slice(0, question);
  if (qualifiers !== undefined && qualifiers.includes('?')) return bad('a "?" inside the qualifiers must be percent-encoded');

  let start = 0;
  while (rest[start] === '/') start++;
  rest = rest.slice(start);
  const slash = rest.indexOf('/');
  const type = slash < 0 ? rest : rest.slice(0, slash);
  if (type === '' || !isAlpha(type[0]!) || ![...type].every(isTypeChar)) return bad('the type must start with a letter and hold only letters, digits, ".", "+" and "-"');
  if (slash < 0) return bad('names no package: the form is pkg:type/namespace/name@version');
  rest = rest.slice(slash + 1);

  const at = rest.lastIndexOf('@');
  const version = at < 0 ? undefined : rest.slice(at + 1);
  if (at >= 0) rest = rest.slice(0, at);
  if (rest.includes('@')) return bad('an "@" in the namespace or name must be percent-encoded as %40');
  let end = rest.length;
  while (end > 0 && rest[end - 1] === '/') end--;
  const canonicalForm = purl.startsWith('pkg:') && start === 0 && end === rest.length;
  const segments = rest.slice(0, end).split('/');
  const name = segments.pop()!;
  // "pkg:npm/@scope/name" splits at its "@" into an empty name and a version "scope/name".
  if (name === '') return bad(at >= 0 ? 'names no package: an "@" in the namespace or name must be percent-encoded as %40' : 'names no package: the name is empty');
  if (hidesSlash(name) || segments.some(hidesSlash) || (subpath ?? '').split('/').some(hidesSlash)) return bad('a namespace, name or subpath segment must not hold an encoded "/" (%2F)');
  if (![...segments, name, version, qualifiers, subpath].every((p) => p === undefined || decodes(p))) return bad('a percent-escape does not decode as UTF-8');

  const keys = new Set<string>();
  for (const pair of (qualifiers ?? '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
    if (eq < 0) return bad(`the qualifier "${key}" needs a value: key=value`);
    if (key === '' || !isAlpha(key[0]!) || ![...key].every(isKeyChar)) return bad(`the qualifier key "${key}" must start with a letter and hold only letters, digits, ".", "-" and "_"`);
    if (keys.has(key)) return bad(`the qualifier "${key}" is given twice`);
    keys.add(key);
  }
  return { ok: true, parts: { type, namespace: segments, name, ...(version === undefined ? {} : { version }), ...(qualifiers === undefined ? {} : { qualifiers }), ...(subpath === undefined ? {} : { subpath }), canonicalForm } };
}

/** What intake says of a purl: null when it is one, else why not (for the field's error). */
export function purlProblem(purl: string): string | null {
  const parsed = parsePurl(purl);
  return parsed.ok ? null : `must be a package URL (purl): ${parsed.problem}`;
}

/** RFC 3986 path characters without "@", every "%" a valid escape: the old mirror rule for each component. */
const isStrictPart = (part: string | undefined) => part !== undefined && part !== '' && [...part].every((c) => c !== '@' && (isUriText(c) || c === ':' || c === '%'));
const QUALIFIER_VALUE = (pair: string) => pair.split('=')[1];
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Whether a purl is one CSAF consumers accept: CSAF's mandatory test 6.1.13 parses every purl
 * (the BSI validator with packageurl-js) and the schema wants a URI. This accepts the plain form
 * `pkg:type/namespace/name@version?key=value#subpath`, fully percent-encoded, and applies the
 * per-type rules of the purl spec's PURL-TYPES that parsers enforce. It is stricter than the
 * parsers (an unencoded `@` in a namespace is refused), never looser: a refused purl only costs
 * the product its identification helper.
 */
export function isConformantPurl(purl: string): boolean {
  const parsed = parsePurl(purl);
  if (!parsed.ok) return false;
  const { type, namespace: segments, name, version, qualifiers, subpath, canonicalForm } = parsed.parts;
  if (!canonicalForm || ![...segments, name].every(isStrictPart)) return false;
  if (version !== undefined && !isStrictPart(version)) return false;
  if (subpath !== undefined && !subpath.split('/').every(isStrictPart)) return false;
  if (qualifiers !== undefined && !isStrictPart(qualifiers)) return false;
  const pairs = (qualifiers ?? '').split('&').filter(Boolean);
  if (pairs.some((pair) => !QUALIFIER_VALUE(pair))) return false;
  const namespace = segments.length > 0 ? segments.join('/') : undefined;
  const has = (key: string) => pairs.some((pair) => pair.split('=')[0]!.toLowerCase() === key);
  switch (type.toLowerCase()) {
    case 'maven':
      return namespace !== undefined;
    case 'swift':
      return namespace !== undefined && version !== undefined;
    case 'cran':
      return version !== undefined;
    case 'mlflow':
    case 'oci':
      return namespace === undefined;
    case 'pub':
      return /^[a-z0-9_]+$/.test(decodeURIComponent(name));
    case 'conan':
      return namespace === undefined ? !has('channel') : pairs.length > 0;
    case 'golang':
      return version === undefined || !version.startsWith('v') || SEMVER.test(decodeURIComponent(version.slice(1)));
    default:
      return true;
  }
}
