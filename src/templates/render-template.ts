/**
 * A logic-less template, so a security team can reword notices without touching code:
 *
 * - `{{name}}` inserts a value, passed through the channel's escaper;
 * - `{{#name}}...{{/name}}` repeats its body for each item of a list (skipped when empty or absent;
 *   rendered once for a non-empty string), with `{{.}}` the item itself or `{{field}}` its fields;
 * - `{{^name}}...{{/name}}` renders its body only when the list is empty or the value absent.
 *
 * Unknown names render as nothing, so a template can never print "undefined".
 */
export type TemplateValue = string | number | undefined | TemplateView | readonly (string | TemplateView)[];
export interface TemplateView {
  [name: string]: TemplateValue;
}
export type Escaper = (text: string) => string;

const TOKEN = /\{\{([#^/]?)\s*([.\w-]+)\s*\}\}/g;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export function renderTemplate(template: string, view: TemplateView, escape: Escaper): string {
  return renderSection(template, [view], escape);
}

function lookup(stack: readonly (TemplateView | string)[], name: string): TemplateValue {
  const top = stack[stack.length - 1];
  if (name === '.') return typeof top === 'string' ? top : undefined;
  for (let i = stack.length - 1; i >= 0; i--) {
    const frame = stack[i];
    if (typeof frame === 'object' && frame !== null && name in frame) return frame[name];
  }
  return undefined;
}

function renderSection(template: string, stack: readonly (TemplateView | string)[], escape: Escaper): string {
  let out = '';
  let at = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(template); m; m = TOKEN.exec(template)) {
    const [whole, sigil, name] = m as unknown as [string, string, string];
    out += template.slice(at, m.index);
    at = m.index + whole.length;
    if (sigil === '') {
      const value = lookup(stack, name);
      if (typeof value === 'string' || typeof value === 'number') out += escape(String(value));
      continue;
    }
    if (sigil === '/') throw new TemplateError(`unexpected {{/${name}}}`);
    const close = findClose(template, name, at);
    const body = template.slice(at, close.start);
    at = close.end;
    TOKEN.lastIndex = at;
    const value = lookup(stack, name);
    const items = Array.isArray(value) ? value : value === undefined || value === '' ? [] : [value as string | TemplateView];
    if (sigil === '#') {
      for (const item of items) out += renderSection(body, [...stack, item], escape);
    } else if (items.length === 0) {
      out += renderSection(body, stack, escape);
    }
    TOKEN.lastIndex = at;
  }
  return out + template.slice(at);
}

/** Finds the `{{/name}}` that closes a section opened just before `from`, allowing nesting. */
function findClose(template: string, name: string, from: number): { start: number; end: number } {
  const scan = new RegExp(TOKEN.source, 'g');
  scan.lastIndex = from;
  let depth = 1;
  for (let m = scan.exec(template); m; m = scan.exec(template)) {
    if (m[2] !== name) continue;
    if (m[1] === '#' || m[1] === '^') depth += 1;
    else if (m[1] === '/' && --depth === 0) return { start: m.index, end: m.index + m[0].length };
  }
  throw new TemplateError(`{{#${name}}} is never closed`);
}
