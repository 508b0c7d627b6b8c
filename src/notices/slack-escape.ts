/**
 * Slack's own escaping: `&`, `<` and `>` are the only characters its message parser treats as
 * control characters (`<!channel>`, `<@U123>`, `<https://x|label>`), so escaping exactly these
 * three makes any text inert, and Slack's clients show the original characters again.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>' };

/** Undoes {@link escapeSlack} in one pass, so `&amp;lt;` becomes `&lt;` and not `<`. */
export function unescapeSlack(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, name: string) => ENTITIES[name] ?? '');
}
