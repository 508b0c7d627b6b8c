const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00A0' };

/**
 * The text of a plain-text status back from the HTML Mastodon serves as `content`: paragraphs
 * (`</p><p>`) are blank lines, `<br />` are line breaks, and links keep their full address, since
 * Mastodon only hides parts of a long URL in `<span class="invisible">` rather than dropping them.
 */
export function statusHtmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<\/p>\s*<p(?:\s[^>]*)?>/gi, '\n\n')
      .replace(/<br\s*\/?>/gi, '\n')
      // "[^<>]", not "[^>]": from each "<" of a run with no ">" the latter scanned to the end (quadratic).
      .replace(/<[^<>]*>/g, ''),
  );
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}
