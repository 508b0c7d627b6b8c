/** Characters XML 1.0 cannot hold at all, not even escaped. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/**
 * Escapes text for HTML and XML content and double-quoted attribute values, dropping the control
 * characters XML cannot carry (a publisher's text may hold them; the signed document keeps them).
 */
export function esc(text: string | number): string {
  return String(text)
    .replace(NOT_XML, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
