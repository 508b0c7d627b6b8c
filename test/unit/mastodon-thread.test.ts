import { statusHtmlToText } from '../../src/notices/mastodon-html';
import { countCharacters, planThread, splitSignedBlock } from '../../src/channels/mastodon-thread';
import { neutraliseMentions } from '../../src/notices/mastodon-text';

const limits = { maxCharacters: 120, charactersReservedPerUrl: 23 };

describe('mastodon thread planning', () => {
  const block = ['-----BEGIN PGP SIGNED MESSAGE-----', 'Hash: SHA512', '', ...Array.from({ length: 12 }, (_, i) => `Line ${i} of the signed text`), '-----BEGIN PGP SIGNATURE-----', '', 'abc', '-----END PGP SIGNATURE-----'].join('\n');
  const payload = { spoiler_text: 'CRITICAL security advisory X-1', summary: `Title\n\n${'word '.repeat(60).trim()}\n\nKey: https://tocsin.example/v1/keys/broadcaster.asc`, signed_text: '', cleartext: block };

  it('cuts the signed block only between non-blank lines, so joining with one line break restores it', () => {
    const chunks = splitSignedBlock(block, 60, (t) => countCharacters(t, limits));
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.join('\n')).toBe(block);
    for (const c of chunks) expect(c).toMatch(/^\S[\s\S]*\S$/);
  });

  it('is deterministic and keeps every status, content warning included, within the limit', () => {
    const a = planThread(payload, limits);
    expect(planThread(payload, limits)).toEqual(a);
    for (const post of a) expect(countCharacters(post, limits) + payload.spoiler_text.length).toBeLessThanOrEqual(120);
    expect(planThread(payload, { ...limits, maxCharacters: 5_000 })).toHaveLength(1);
  });

  it('counts a URL as the reserved length, or its own when longer', () => {
    expect(countCharacters('see https://a.example/x', limits)).toBe(4 + 23);
    expect(countCharacters(`see https://a.example/${'x'.repeat(40)}.`, limits)).toBe(4 + 59 + 1);
  });
});

describe('mastodon text', () => {
  it('breaks mentions and hashtags but leaves addresses and URL paths alone', () => {
    expect(neutraliseMentions('@admin@evil.example #tag (#x) _#y ＠wide ＃wide')).toBe('@\u200Badmin@evil.example #\u200Btag (#\u200Bx) _#\u200By ＠\u200Bwide ＃\u200Bwide');
    expect(neutraliseMentions('mail sec@acme.example, see https://x.example/@user and /a#frag')).toBe('mail sec@acme.example, see https://x.example/@user and /a#frag');
  });

  it('breaks an "@" wherever Mastodon\'s MENTION_RE sees a mention: after anything but "/" or a [[:word:]] character', () => {
    // Ruby's [[:word:]] is letters, marks, decimal digits and connectors: other digits do not count.
    for (const before of ['²', 'Ⅻ', '①', '¼', '=', '|', '.', '-', '(', '"', '\u00A0', '\n', '😀']) {
      expect({ before, out: neutraliseMentions(`${before}@admin`) }).toEqual({ before, out: `${before}@\u200Badmin` });
    }
    for (const before of ['a', 'é', 'ж', '中', '7', '٣', '_', '\u0301', '/']) {
      expect({ before, out: neutraliseMentions(`${before}@admin`) }).toEqual({ before, out: `${before}@admin` });
    }
  });

  it('breaks a "#" wherever a Mastodon HASHTAG_RE, current or older, sees a hashtag', () => {
    // Older releases took any character but "/", ")" and ASCII \w, or but "=", "/", ")" and alphanumerics (so "_"); today's, whitespace only.
    for (const before of ['', ' ', '\u00A0', '\n', 'é', '²', 'Ⅻ', '①', '٣', '=', '(', '.', '_']) {
      expect({ before, out: neutraliseMentions(`${before}#tag`) }).toEqual({ before, out: `${before}#\u200Btag` });
    }
    for (const before of ['a', 'Z', '7', '/', ')']) {
      expect({ before, out: neutraliseMentions(`${before}#tag`) }).toEqual({ before, out: `${before}#tag` });
    }
    // Idempotent: neutralised text is left as it is.
    expect(neutraliseMentions(neutraliseMentions('²@a é#b'))).toBe('²@\u200Ba é#\u200Bb');
  });

  it('reads Mastodon HTML back to the posted text', () => {
    const html = '<p>a &amp; b &lt;c&gt; &#39;q&#39;<br />next</p><p>see <a href="https://example.org/long/path/to/a/page" rel="nofollow noopener" translate="no" target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.org/long/path/to/a/pag</span><span class="invisible">e</span></a></p>';
    expect(statusHtmlToText(html)).toBe("a & b <c> 'q'\nnext\n\nsee https://example.org/long/path/to/a/page");
  });
});
