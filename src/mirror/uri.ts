/** Characters RFC 3986 allows in a path, query or fragment, besides `%` escapes. */
const NOT_URI = /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;

const escape = (part: string) => part.replace(NOT_URI, (c) => encodeURIComponent(c));

/**
 * An http(s) URL as an RFC 3986 URI, the form CSAF's schema (format `uri`) requires. WHATWG URL
 * parsing, which accepted the URL, also accepts spaces, non-ASCII, `[` in a query and a second
 * `#`; they are percent-encoded here, and the host becomes punycode. Already valid URIs keep
 * their meaning.
 */
export function asUri(url: string): string {
  const u = new URL(url);
  const userinfo = u.username ? `${escape(u.username)}${u.password ? `:${escape(u.password)}` : ''}@` : '';
  const query = u.search ? `?${escape(u.search.slice(1))}` : '';
  const fragment = u.hash ? `#${escape(u.hash.slice(1))}` : '';
  return `${u.protocol}//${userinfo}${u.host}${escape(u.pathname)}${query}${fragment}`;
}
