/** A purl component: RFC 3986 path characters, with every `%` starting a valid escape. */
const PART = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})+";
const SHAPE = new RegExp(`^pkg:([A-Za-z.+-][A-Za-z0-9.+-]*)/((?:${PART}/)*)(${PART})(?:@(${PART}))?(?:\\?(${PART}(?:&${PART})*))?(?:#(${PART}(?:/${PART})*))?$`);
const QUALIFIER_KEY = /^[A-Za-z.\-_][A-Za-z0-9.\-_]*$/;
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function decodes(part: string): boolean {
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a purl is one CSAF consumers accept: CSAF's mandatory test 6.1.13 parses every purl
 * (the BSI validator with packageurl-js) and the schema wants a URI. This accepts the plain form
 * `pkg:type/namespace/name@version?key=value#subpath`, fully percent-encoded, and applies the
 * per-type rules of the purl spec's PURL-TYPES that parsers enforce. It is stricter than the
 * parsers (an unencoded `@` in a namespace is refused), never looser: a refused purl only costs
 * the product its identification helper.
 */
export function isConformantPurl(purl: string): boolean {
  const m = SHAPE.exec(purl);
  if (!m) return false;
  const [, rawType, namespacePath, name, version, qualifiers] = m;
  if (![namespacePath, name, version, qualifiers, m[6]].every((p) => p === undefined || decodes(p))) return false;
  const keys = (qualifiers ?? '').split('&').filter(Boolean).map((q) => q.split('='));
  if (keys.some(([key, value]) => !key || !QUALIFIER_KEY.test(key) || !value)) return false;
  const namespace = namespacePath ? namespacePath.slice(0, -1) : undefined;
  const has = (key: string) => keys.some(([k]) => k!.toLowerCase() === key);
  switch (rawType!.toLowerCase()) {
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
      return /^[a-z0-9_]+$/.test(decodeURIComponent(name!));
    case 'conan':
      return namespace === undefined ? !has('channel') : keys.length > 0;
    case 'golang':
      return version === undefined || !version.startsWith('v') || SEMVER.test(decodeURIComponent(version.slice(1)));
    default:
      return true;
  }
}
