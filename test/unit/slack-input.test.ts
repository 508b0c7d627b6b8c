import { parseSlackInput } from '../../src/cli/inputs/slack-input';
import { escapeSlack, unescapeSlack } from '../../src/notices/slack-escape';

const block = ['-----BEGIN PGP SIGNED MESSAGE-----', 'Hash: SHA512', '', 'Title: a <b> & c', '- -----END PGP SIGNATURE-----', '-----BEGIN PGP SIGNATURE-----', '', 'abc=', '-----END PGP SIGNATURE-----'].join('\n');
const preformatted = (text: string) => [{ type: 'rich_text', elements: [{ type: 'rich_text_preformatted', elements: [{ type: 'text', text }] }] }];

describe('Slack escaping', () => {
  it('round-trips, and unescapes in one pass', () => {
    const text = 'x <!channel> &amp; <@U1> & >';
    expect(escapeSlack(text)).toBe('x &lt;!channel&gt; &amp;amp; &lt;@U1&gt; &amp; &gt;');
    expect(unescapeSlack(escapeSlack(text))).toBe(text);
    expect(unescapeSlack('&amp;lt;')).toBe('&lt;');
  });
});

describe('parseSlackInput', () => {
  it('finds the signed block in preformatted rich text, escapes undone, past a dash-escaped end marker', () => {
    for (const json of [
      { blocks: preformatted(escapeSlack(block)), text: 'summary' },
      { ok: true, message: { blocks: preformatted(escapeSlack(block)) } },
      { ok: true, messages: [{ text: 'unrelated' }, { type: 'message', blocks: preformatted(escapeSlack(block)) }] },
    ]) {
      expect(parseSlackInput(JSON.stringify(json), json)).toEqual({ kind: 'cleartext', cleartext: block, form: 'Slack message' });
    }
  });

  it('reads a signed block a person pasted into the message text', () => {
    const json = { type: 'message', text: `see below\n${escapeSlack(block)}\nthanks` };
    expect(parseSlackInput(JSON.stringify(json), json)).toMatchObject({ cleartext: block });
  });

  it('returns null for anything without a signed block', () => {
    for (const json of [{ text: 'hello' }, { ok: true, messages: [] }, { blocks: [] }, ['x'], 'text', null]) {
      expect(parseSlackInput(JSON.stringify(json), json)).toBeNull();
    }
  });
});
