import { unescapeSlack } from '../../notices/slack-escape';
import type { InputParser } from './signed-input';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A Slack message as the Web API returns it: one message object (`text` and/or `blocks`), a
 * `{ok, message}` answer, or a `{ok, messages: [...]}` page from conversations.history or
 * conversations.replies. The signed notice is looked for in preformatted rich text first (where
 * tocsin puts it), then in any other text, with Slack's `&amp;` `&lt;` `&gt;` escapes undone.
 */
export const parseSlackInput: InputParser = (_text, json) => {
  if (!isObject(json)) return null;
  const messages = Array.isArray(json.messages) ? json.messages : isObject(json.message) ? [json.message] : [json];
  for (const message of messages) {
    if (!isObject(message) || (typeof message.text !== 'string' && !Array.isArray(message.blocks))) continue;
    for (const candidate of textsOf(message)) {
      const cleartext = signedBlockIn(unescapeSlack(candidate));
      if (cleartext) return { kind: 'cleartext', cleartext, form: 'Slack message' };
    }
  }
  return null;
};

/** The message's texts, most likely home of the signed notice first. */
function textsOf(message: Json): string[] {
  const preformatted: string[] = [];
  const other: string[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > 12) return;
    if (Array.isArray(node)) return node.forEach((n) => walk(n, depth + 1));
    if (!isObject(node)) return;
    if (node.type === 'rich_text_preformatted' && Array.isArray(node.elements)) {
      preformatted.push(node.elements.map((e) => (isObject(e) ? String(e.text ?? e.url ?? '') : '')).join(''));
      return;
    }
    if (typeof node.text === 'string') other.push(node.text);
    for (const value of Object.values(node)) if (typeof value === 'object') walk(value, depth + 1);
  };
  walk(message.blocks, 0);
  return [...preformatted, ...other, ...(typeof message.text === 'string' ? [message.text] : [])];
}

/**
 * The cleartext-signed block in `text`. The end marker must start a line: the signed text may
 * itself mention "-----END PGP SIGNATURE-----", which signing dash-escapes to "- -----END...".
 */
function signedBlockIn(text: string): string | null {
  const start = text.search(/^-----BEGIN PGP SIGNED MESSAGE-----\r?$/m);
  if (start < 0) return null;
  const end = /^-----END PGP SIGNATURE-----\r?$/m.exec(text.slice(start));
  return end ? text.slice(start, start + end.index + end[0].length) : null;
}
