import { esc } from './html-escape';

/** One Atom entry (RFC 4287) as the mirror's feeds write it: every value escaped here. */
export interface AtomEntry {
  id: string;
  title: string;
  updated: string;
  /** RFC 3339; normalised to UTC. */
  published: string;
  /** The HTML page that shows it. */
  alternate: string;
  /** The signed JSON document. */
  related: string;
  category: { term: string; label: string };
  /** Plain text. */
  summary: string;
}

export function atomEntry(e: AtomEntry): string {
  return [
    '  <entry>',
    `    <id>${esc(e.id)}</id>`,
    `    <title>${esc(e.title)}</title>`,
    `    <updated>${esc(e.updated)}</updated>`,
    `    <published>${esc(new Date(e.published).toISOString())}</published>`,
    `    <link rel="alternate" type="text/html" href="${esc(e.alternate)}"/>`,
    `    <link rel="related" type="application/json" href="${esc(e.related)}"/>`,
    `    <category term="${esc(e.category.term)}" label="${esc(e.category.label)}"/>`,
    `    <summary type="text">${esc(e.summary)}</summary>`,
    '  </entry>',
  ].join('\n');
}

/** The feed around already written entries: `self` is the feed's own URL and its id. */
export function atomFeed(f: { self: string; title: string; updated: string; author: string; alternate: string; entries: readonly string[] }): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${esc(f.self)}</id>`,
    `  <title>${esc(f.title)}</title>`,
    `  <updated>${esc(f.updated)}</updated>`,
    `  <author><name>${esc(f.author)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${esc(f.self)}"/>`,
    `  <link rel="alternate" type="text/html" href="${esc(f.alternate)}"/>`,
    `  <generator>tocsin</generator>`,
    ...f.entries,
    '</feed>',
    '',
  ].join('\n');
}
