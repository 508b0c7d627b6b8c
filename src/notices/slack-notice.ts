import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import { signCleartext } from '../pgp/detached';
import { renderTemplate } from '../templates/render-template';
import { changesLine, DRILL_MARK, inlineMarks, withMarkLines, type NoticeMarks } from './notice-marks';
import { readNoticeTemplate } from './notice-templates';
import { buildNoticeContent, templateFor } from './notice-view';
import type { RenderContext } from './render-context';
import { escapeSlack } from './slack-escape';
import { messageIdFor } from './webhook-notice';

interface PlainText {
  type: 'plain_text';
  text: string;
  emoji: false;
}

/** The Block Kit blocks a Slack notice uses; all advisory text sits in plain_text or rich text. */
export type SlackNoticeBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text: PlainText }
  | { type: 'rich_text'; elements: { type: 'rich_text_preformatted'; elements: { type: 'text'; text: string }[] }[] };

/**
 * What the Slack channel posts with `chat.postMessage`, the same for every workspace: a readable
 * summary and tocsin's cleartext-signed notice in ONE message, so a retry after a failure can
 * never leave a summary without its signature, nor post the summary twice.
 */
export interface SlackNoticePayload {
  /** Notification fallback, already escaped for Slack. */
  text: string;
  blocks: SlackNoticeBlock[];
  /** Slack message metadata, so a bot reading the channel can de-duplicate on tocsin's message id. */
  metadata: { event_type: 'tocsin_notice'; event_payload: { message_id: string; advisory: string; revision: number } };
  /** Set on a drill: the channel adds the recipient's acknowledgement link after the signed text. */
  drill?: true;
}

// Block Kit limits: a header holds 150 characters, a section's text 3000.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
// The summary is cut short in the readable part so that the key line after it survives; the
// signed notice carries it whole.
const SUMMARY_MAX = 1200;

/**
 * Renders templates/slack.txt as plain text, signs it once (cleartext signature), and wraps it
 * with the summary from templates/slack-summary.txt (a retraction: slack-retraction.txt and
 * slack-summary-retraction.txt). Every piece of advisory text is escaped for Slack, so nothing a
 * publisher writes can mention, link or format. The marks (TLP label, embargo, update,
 * withdrawal) open both the signed text and the header, so they are in the notification text too.
 */
export async function renderSlackNotice(archived: ArchivedAdvisory, ctx: RenderContext): Promise<Notice> {
  const { form, marks, view } = buildNoticeContent(archived, ctx);
  // A line break in the title could forge a second "Advisory:" or "Title:" line in the signed text.
  const title = String(view.title).replace(/\s+/g, ' ');
  const [signedTemplate, summaryTemplate] = await Promise.all([
    readNoticeTemplate(ctx.templatesDir, templateFor('slack.txt', form)),
    readNoticeTemplate(ctx.templatesDir, templateFor('slack-summary.txt', form)),
  ]);
  const signedText = withMarkLines(renderTemplate(signedTemplate, { ...view, title }, (s) => s), marks, (s) => s);
  const cleartext = await signCleartext(signedText, ctx.broadcaster.signingKeys);

  const summary = String(view.summary);
  const shortSummary = summary.length > SUMMARY_MAX ? `${cutAt(summary, SUMMARY_MAX)}… (full text in the signed notice)` : summary;
  const readable = renderTemplate(summaryTemplate, { ...view, title, summary: shortSummary }, escapeSlack);
  const newline = readable.indexOf('\n');
  // The marks first: a header too long for Slack is cut at its end, never there.
  const headline = clip(`${escapeSlack(slackMarks(marks))} ${newline < 0 ? readable : readable.slice(0, newline)}`, HEADER_MAX);
  const rest = (newline < 0 ? '' : readable.slice(newline + 1)).trim();
  const body = clip(marks.update ? `UPDATED, ${escapeSlack(changesLine(marks.update))}\n\n${rest}`.trim() : rest, SECTION_MAX);

  const blocks: SlackNoticeBlock[] = [{ type: 'header', text: plain(headline) }];
  if (body !== '') blocks.push({ type: 'section', text: plain(body) });
  // Rich text is literal: no mrkdwn is parsed in it, so backticks in the signed text cannot close
  // a code block the way they would inside a ``` fence.
  blocks.push({ type: 'rich_text', elements: [{ type: 'rich_text_preformatted', elements: [{ type: 'text', text: escapeSlack(cleartext) }] }] });

  const { id, revision } = archived.record;
  const messageId = messageIdFor(archived);
  const payload: SlackNoticePayload = {
    text: headline,
    blocks,
    metadata: { event_type: 'tocsin_notice', event_payload: { message_id: messageId, advisory: id, revision } },
    ...(archived.record.kind === 'drill' ? { drill: true as const } : {}),
  };
  return { ref: { id, revision }, messageId, payload: JSON.stringify(payload), acceptedAt: archived.record.accepted_at };
}

/** A drill's Slack text starts with the word DRILL itself, where a notification preview shows it. */
function slackMarks(marks: NoticeMarks): string {
  return marks.drill ? inlineMarks(marks).replace(DRILL_MARK, 'DRILL: no action needed,') : inlineMarks(marks);
}

function plain(text: string): PlainText {
  return { type: 'plain_text', text, emoji: false };
}

/** Shortens escaped text to `max` characters without cutting an `&amp;` entity in half. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${cutAt(text, max - 1).replace(/&[a-z]*$/, '')}…`;
}

/**
 * The first `max` UTF-16 units of `text`, one fewer when the cut would fall between the two
 * halves of a surrogate pair: half a character is not valid UTF-8, and Slack would show U+FFFD.
 */
export function cutAt(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
