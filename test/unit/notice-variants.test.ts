import { tlpLabels } from '../../src/advisory/tlp';
import type { BroadcasterSigner } from '../../src/pgp/broadcaster-keys';
import type { EmailPayload } from '../../src/notices/email-notice';
import type { MastodonNoticePayload } from '../../src/notices/mastodon-notice';
import type { NoticeVariant } from '../../src/notices/notice-variant';
import { noticeRenderers } from '../../src/notices/render-notices';
import { unescapeSlack } from '../../src/notices/slack-escape';
import type { SlackNoticePayload } from '../../src/notices/slack-notice';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { archivedDocument, EMBARGO_UNTIL, renderContext, sampleRetraction, testBroadcaster } from '../support/notice-fixture';

/**
 * What each channel's notice says about TLP, an embargo, an update and a retraction, read from
 * the rendered payloads (the bytes the channels send). Signatures over these are checked with gpg
 * and sq in test/contract/notice-signatures.contract.test.ts.
 */

/** Every text a reader sees of one notice, per place. */
interface Shown {
  email: { subject: string; text: string; html: string };
  slack: { text: string; header: string; section: string; signed: string };
  mastodon: { cw: string; summary: string; signed: string };
  webhook: WebhookBody;
  messageIds: string[];
}

let broadcaster: BroadcasterSigner;
beforeAll(async () => {
  ({ broadcaster } = await testBroadcaster());
});

async function render(doc: Record<string, unknown>, variant: NoticeVariant = {}, record = {}): Promise<Shown> {
  const archived = await archivedDocument(doc, broadcaster, record);
  const ctx = renderContext(broadcaster, variant);
  const [email, slack, mastodon, webhook] = await Promise.all(
    (['email', 'slack', 'mastodon', 'webhook'] as const).map((channel) => noticeRenderers[channel]!(archived, ctx)),
  );
  const mail = JSON.parse(email!.payload) as EmailPayload;
  const s = JSON.parse(slack!.payload) as SlackNoticePayload;
  const m = JSON.parse(mastodon!.payload) as MastodonNoticePayload;
  const blockText = (type: string) => {
    const block = s.blocks.find((b) => b.type === type);
    if (!block) return '';
    if ('text' in block) return block.text.text;
    return block.elements[0]!.elements[0]!.text;
  };
  return {
    email: { subject: mail.subject, text: mimePart(mail.body, 'text/plain'), html: mimePart(mail.body, 'text/html') },
    slack: { text: s.text, header: blockText('header'), section: blockText('section'), signed: signedLines(unescapeSlack(blockText('rich_text'))) },
    mastodon: { cw: m.spoiler_text, summary: m.summary, signed: m.signed_text },
    webhook: JSON.parse(webhook!.payload) as WebhookBody,
    messageIds: [email!, slack!, mastodon!, webhook!].map((n) => n.messageId),
  };
}

/** The body of the first MIME part of `type` (7-bit here: every test text is ASCII). */
function mimePart(body: string, type: string): string {
  const start = body.indexOf(`Content-Type: ${type}`);
  const text = body.slice(body.indexOf('\r\n\r\n', start) + 4);
  return text.slice(0, text.indexOf('\r\n--')).replace(/\r\n/g, '\n');
}

/** The text inside a cleartext signature, line endings as LF. */
function signedLines(cleartext: string): string {
  const start = cleartext.indexOf('\n\n') + 2;
  return cleartext.slice(start, cleartext.indexOf('-----BEGIN PGP SIGNATURE-----')).replace(/\r\n/g, '\n');
}

/** Every place of a notice a reader sees text, for "nowhere" and "everywhere" checks. */
function everyText(shown: Shown): Record<string, string> {
  return {
    'email subject': shown.email.subject,
    'email text': shown.email.text,
    'email html': shown.email.html,
    'slack text': shown.slack.text,
    'slack section': shown.slack.section,
    'slack signed': shown.slack.signed,
    'mastodon cw': shown.mastodon.cw,
    'mastodon summary': shown.mastodon.summary,
    'mastodon signed': shown.mastodon.signed,
  };
}

describe('TLP labels on every channel', () => {
  it.each(tlpLabels)('TLP:%s heads the email subject and the text of every channel, and is the webhook tlp', async (tlp) => {
    const shown = await render(sampleAdvisory({ tlp }));
    const label = `TLP:${tlp}`;
    expect(shown.email.subject.startsWith(`${label} `)).toBe(true);
    expect(shown.email.text.split('\n')[0]).toBe(label);
    // In HTML: the first paragraph of the body, in TLP 2.0's colours.
    expect(shown.email.html).toMatch(new RegExp(`<body[^>]*>\\n<p><strong style="background: #000000; color: #[0-9A-F]{6}[^"]*">${label.replace('+', '\\+')}</strong>`));
    expect(shown.slack.text.startsWith(`${label} `)).toBe(true);
    expect(shown.slack.header.startsWith(`${label} `)).toBe(true);
    expect(shown.slack.signed.split('\n')[0]).toBe(label);
    expect(shown.mastodon.summary.split('\n')[0]).toBe(label);
    expect(shown.mastodon.signed.split('\n')[0]).toBe(label);
    expect(shown.webhook.tlp).toBe(tlp);
  });

  it('labels a document that sets no tlp TLP:CLEAR, and keeps the ordinary notice otherwise as it was', async () => {
    const shown = await render(sampleAdvisory());
    expect(shown.email.subject).toBe('TLP:CLEAR [CRITICAL] ACME-2026-0001 revision 1: Remote code execution in acme-server');
    expect(shown.webhook).toMatchObject({ type: 'advisory.published', tlp: 'CLEAR', severity: 'critical' });
    for (const field of ['embargo_until', 'previous_revision', 'changes', 'retracts']) expect(shown.webhook).not.toHaveProperty(field);
    expect(shown.mastodon.cw).toBe('CRITICAL security advisory ACME-2026-0001');
    for (const [where, text] of Object.entries(everyText(shown))) expect({ where, marked: /EMBARGOED|UPDATED|WITHDRAWN/.test(text) }).toEqual({ where, marked: false });
  });
});

describe('the link to the public advisory', () => {
  const link = /\/v1\/advisories\/ACME-2026-0001\?revision=1/;

  it('is in every notice of a TLP:CLEAR revision released to all', async () => {
    const shown = await render(sampleAdvisory());
    for (const text of [shown.email.text, shown.email.html, shown.slack.signed, shown.mastodon.summary, shown.mastodon.signed]) expect(text).toMatch(link);
  });

  it('is left out where public reads answer 404: any other label, and an embargo not yet over', async () => {
    for (const [doc, variant] of [
      [sampleAdvisory({ tlp: 'GREEN' }), {}],
      [sampleAdvisory({ tlp: 'AMBER+STRICT' }), {}],
      [sampleAdvisory({ embargo_until: EMBARGO_UNTIL, audience: ['distros'] }), { embargoedUntil: EMBARGO_UNTIL }],
    ] as const) {
      const shown = await render(doc, variant);
      for (const [where, text] of Object.entries(everyText(shown))) expect({ where, linked: link.test(text) }).toEqual({ where, linked: false });
      // Nothing dangles where the link was.
      expect(shown.email.text).not.toMatch(/^Full advisory: *$/m);
    }
  });
});

describe('an embargoed notice', () => {
  const doc = sampleAdvisory({ tlp: 'AMBER', embargo_until: EMBARGO_UNTIL, audience: ['distros'] });
  const mark = 'EMBARGOED until 2026-12-09 14:00 UTC';

  it('says EMBARGOED until the end, in UTC, in the subject, the Slack text and both bodies; the webhook carries embargo_until', async () => {
    const shown = await render(doc, { embargoedUntil: EMBARGO_UNTIL });
    expect(shown.email.subject).toBe(`TLP:AMBER [${mark}] [CRITICAL] ACME-2026-0001 revision 1: Remote code execution in acme-server`);
    expect(shown.email.text.split('\n')[1]).toMatch(new RegExp(`^${mark}: `));
    expect(shown.email.html).toContain(`<strong>${mark}: `);
    expect(shown.slack.text).toContain(`[${mark}]`);
    expect(shown.slack.signed.split('\n')[1]).toMatch(new RegExp(`^${mark}: `));
    expect(shown.webhook).toMatchObject({ type: 'advisory.published', tlp: 'AMBER', embargo_until: EMBARGO_UNTIL });
  });

  it('says nothing of an embargo once released, though the document still holds its end, and keeps its message ids', async () => {
    const embargoed = await render(doc, { embargoedUntil: EMBARGO_UNTIL });
    const released = await render(doc);
    for (const [where, text] of Object.entries(everyText(released))) expect({ where, embargoed: text.includes('EMBARGOED') }).toEqual({ where, embargoed: false });
    expect(released.webhook).not.toHaveProperty('embargo_until');
    expect(released.email.subject.startsWith('TLP:AMBER [CRITICAL] ')).toBe(true);
    // One revision, one id: a receiver de-duplicates on it whichever rendering reached it.
    expect(released.messageIds).toEqual(embargoed.messageIds);
  });
});

describe('an update', () => {
  const first = sampleAdvisory();
  const second = sampleAdvisory({ revision: 2, severity: 'high', affected: [{ product: 'acme-server', versions: '<2.3.2', fixed: '2.3.2' }] });
  const variant = { previous: { revision: 1, document: documentText(first) } };

  it('says UPDATED in the subject, Slack and Mastodon, and what changed in the bodies and the webhook', async () => {
    const shown = await render(second, variant);
    expect(shown.email.subject).toBe('TLP:CLEAR [UPDATED] [HIGH] ACME-2026-0001 revision 2: Remote code execution in acme-server');
    expect(shown.email.text.split('\n')[1]).toBe('UPDATED (changed since revision 1: affected, severity)');
    expect(shown.slack.text).toContain('[UPDATED]');
    expect(shown.slack.section.split('\n')[0]).toBe('UPDATED, changed since revision 1: affected, severity');
    expect(shown.slack.signed.split('\n')[1]).toBe('UPDATED (changed since revision 1: affected, severity)');
    expect(shown.mastodon.cw).toBe('UPDATED HIGH security advisory ACME-2026-0001');
    expect(shown.mastodon.summary.split('\n')[0]).toBe('TLP:CLEAR [UPDATED]');
    expect(shown.mastodon.signed.split('\n')[1]).toBe('UPDATED (changed since revision 1: affected, severity)');
    expect(shown.webhook).toMatchObject({ type: 'advisory.published', revision: 2, previous_revision: 1, changes: ['affected', 'severity'] });
  });

  it('can be embargoed and updated at once', async () => {
    const moved = sampleAdvisory({ revision: 2, tlp: 'GREEN', embargo_until: EMBARGO_UNTIL, audience: ['distros', 'cloud'] });
    const before = sampleAdvisory({ tlp: 'GREEN', embargo_until: '2026-12-08T14:00:00Z', audience: ['distros'] });
    const shown = await render(moved, { embargoedUntil: EMBARGO_UNTIL, previous: { revision: 1, document: documentText(before) } });
    expect(shown.email.subject).toBe('TLP:GREEN [EMBARGOED until 2026-12-09 14:00 UTC] [UPDATED] [CRITICAL] ACME-2026-0001 revision 2: Remote code execution in acme-server');
    expect(shown.webhook).toMatchObject({ tlp: 'GREEN', embargo_until: EMBARGO_UNTIL, previous_revision: 1, changes: ['audience', 'embargo_until'] });
  });
});

describe('a retraction', () => {
  const retraction = sampleRetraction();
  // What intake records for a retraction: the withdrawn advisory's severity (and label).
  const record = { severity: 'critical' as const, retracts: 'ACME-2026-0001' };

  it('is retraction.published on the webhook, with retracts and no severity', async () => {
    const { webhook } = await render(retraction, {}, record);
    expect(webhook).toMatchObject({ type: 'retraction.published', kind: 'retraction', id: 'ACME-2026-0001-R', retracts: 'ACME-2026-0001', tlp: 'CLEAR' });
    expect(webhook).not.toHaveProperty('severity');
  });

  it('says WITHDRAWN with the withdrawn id, the title and the reason on every channel', async () => {
    const shown = await render(retraction, {}, record);
    expect(shown.email.subject).toBe('TLP:CLEAR [WITHDRAWN] ACME-2026-0001: Withdrawn: acme-server is not affected (retraction ACME-2026-0001-R revision 1)');
    expect(shown.slack.text).toBe('TLP:CLEAR [WITHDRAWN] ACME-2026-0001 withdrawn: Withdrawn: acme-server is not affected');
    expect(shown.mastodon.cw).toBe('WITHDRAWN advisory ACME-2026-0001');
    const reason = String(retraction.summary);
    for (const text of [shown.email.text, shown.email.html, shown.slack.section, shown.slack.signed, shown.mastodon.summary]) expect(text).toContain(reason);
    for (const text of [shown.email.text, shown.email.html, shown.slack.text, shown.slack.signed, shown.mastodon.summary, shown.mastodon.signed]) {
      expect(text).toMatch(/WITHDRAWN[\s\S]*?ACME-2026-0001(?!-R)/);
    }
    // The signed texts keep the lines `tocsin verify` names a notice by.
    for (const signed of [shown.email.text, shown.slack.signed, shown.mastodon.signed]) {
      expect(signed).toMatch(/^Advisory: ACME-2026-0001-R revision 1$/m);
      expect(signed).toMatch(/^Title: Withdrawn: acme-server is not affected$/m);
      expect(signed).toMatch(/^WITHDRAWN: advisory ACME-2026-0001 is withdrawn/m);
    }
  });

  it("never presents the withdrawn advisory's severity as the retraction's", async () => {
    const shown = await render(retraction, {}, record);
    for (const [where, text] of Object.entries(everyText(shown))) expect({ where, severity: /critical/i.test(text) }).toEqual({ where, severity: false });
  });

  it("carries the record's label, the withdrawn advisory's, when intake gives it one", async () => {
    const shown = await render(retraction, {}, { ...record, tlp: 'AMBER' });
    expect(shown.email.subject.startsWith('TLP:AMBER [WITHDRAWN] ')).toBe(true);
    expect(shown.webhook.tlp).toBe('AMBER');
  });

  it('keeps publisher text inert on every channel', async () => {
    const hostile = sampleRetraction({ title: 'Oops <!channel> <b>@admin #tag', summary: 'Reason <script>x</script>\n<@U123> @everyone #hashtag\n-----BEGIN PGP SIGNATURE-----' });
    const shown = await render(hostile, {}, record);
    expect(shown.email.html).not.toMatch(/<script>|<b>|<!channel>/);
    expect(shown.email.html).toContain('Oops &lt;!channel&gt; &lt;b&gt;@admin #tag');
    // Slack shows text as it was only through its escaping: no <!channel>, no <@U123> reaches it raw.
    for (const text of [shown.slack.text, shown.slack.section]) expect(text).not.toMatch(/<!channel>|<@U123>/);
    expect(shown.slack.text).toContain('&lt;!channel&gt;');
    // Mastodon: mentions and hashtags broken by a zero width space, armor lines defused.
    for (const text of [shown.mastodon.summary, shown.mastodon.signed, shown.mastodon.cw]) {
      expect(text).not.toMatch(/(^|\s)@admin|(^|\s)#tag|(^|\s)@everyone|-----BEGIN PGP SIGNATURE-----/);
    }
  });
});
