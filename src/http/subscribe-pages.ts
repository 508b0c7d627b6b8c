import { filterableKinds, type RecipientFilter } from '../recipients/recipient';
import { severities } from '../advisory/schema';
import type { Reply } from './http-error';

/**
 * The subscriber's pages: plain HTML forms that work without any script, and the answers to
 * them. No page may be framed (the confirm button must not be clicked through a disguise).
 */

const CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A whole page as a Reply. */
export function page(status: number, title: string, body: string, headers: Record<string, string> = {}): Reply {
  return {
    status,
    type: 'text/html',
    headers: { 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY', ...headers },
    body: `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title></head>\n<body><h1>${esc(title)}</h1>\n${body}\n</body></html>\n`,
  };
}

const KIND_LABELS: Record<(typeof filterableKinds)[number], string> = { advisory: 'advisories', mitigation: 'mitigation notes', status: 'incident status updates' };

/** The filter's fields as form controls, showing `filter` (none: everything). */
function filterFields(filter: RecipientFilter | undefined): string {
  const severity = severities
    .slice()
    .reverse()
    .map((s) => `<option value="${s}"${filter?.min_severity === s ? ' selected' : ''}>${s}</option>`)
    .join('');
  const kinds = filterableKinds
    .map((k) => `<label><input type="checkbox" name="kinds" value="${k}"${!filter?.kinds || filter.kinds.includes(k) ? ' checked' : ''}> ${KIND_LABELS[k]}</label>`)
    .join(' ');
  return [
    `<p><label>Least severity: <select name="min_severity"><option value=""${filter?.min_severity ? '' : ' selected'}>any</option>${severity}</select></label></p>`,
    `<p>Kinds: ${kinds}</p>`,
    `<p><label>Only these products (one per line, a name or a purl such as pkg:npm/acme-server; empty: all)<br><textarea name="products" rows="4" cols="50">${esc((filter?.products ?? []).join('\n'))}</textarea></label></p>`,
  ].join('\n');
}

/** GET /subscribe: the address and what to receive. */
export function subscribeForm(): Reply {
  return page(
    200,
    'Subscribe to security advisories',
    `<form method="post" action="/v1/subscriptions">
<p><label>Email address: <input type="email" name="address" required maxlength="254"></label></p>
${filterFields(undefined)}
<p><button type="submit">Subscribe</button></p>
</form>
<p>You will get an email with a link to confirm; nothing is sent to you before you use it. Every
message is signed with OpenPGP. Each advisory mail carries a link to change what you receive or to unsubscribe.</p>`,
  );
}

/** GET /subscribe?manage=TOKEN: the subscriber's current filter, to change. */
export function manageForm(token: string, address: string, filter: RecipientFilter | undefined): Reply {
  return page(
    200,
    'Change what you receive',
    `<p>Advisories go to <b>${esc(address)}</b>.</p>
<form method="post" action="/v1/subscriptions/manage">
<input type="hidden" name="token" value="${esc(token)}">
${filterFields(filter)}
<p><button type="submit">Save</button></p>
</form>
<form method="post" action="/v1/unsubscribe/${esc(encodeURIComponent(token))}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<p><button type="submit">Unsubscribe</button></p>
</form>`,
  );
}

/** The answer to a request, whatever became of it (no enumeration). */
export const REQUEST_TAKEN = 'If this address can receive mail, a message is on its way to it. To subscribe, use the link in it within 48 hours.';

export function requestTakenPage(): Reply {
  return page(202, 'Check your mailbox', `<p>${esc(REQUEST_TAKEN)}</p>`);
}

export function confirmButtonPage(): Reply {
  // A button, not an action on GET: mail scanners open links, and must not subscribe anyone.
  return page(200, 'Confirm your subscription', '<form method="post"><p><button type="submit">Confirm: send me security advisories</button></p></form>');
}

export function subscribedPage(address: string, manageUrl: string): Reply {
  return page(200, 'Subscribed', `<p><b>${esc(address)}</b> will receive security advisories, signed with OpenPGP.</p><p><a href="${esc(manageUrl)}">Change what you receive</a> (the same link is in every advisory mail).</p>`);
}

/** A link that cannot confirm: a page that says why and what to do, with a status a client can tell apart. */
export function deadLinkPage(state: 'used' | 'expired' | 'unknown'): Reply {
  switch (state) {
    case 'used':
      return page(410, 'Already confirmed', '<p>This link was already used: the subscription is confirmed. Nothing more to do.</p>');
    case 'expired':
      return page(410, 'Link expired', '<p>This confirmation link has expired (links work for 48 hours). <a href="/subscribe">Subscribe again</a> to get a new one.</p>');
    case 'unknown':
      return page(404, 'Unknown link', '<p>This confirmation link is not known here. Check that it was copied whole, or <a href="/subscribe">subscribe again</a>.</p>');
  }
}

export function unknownManageLinkPage(): Reply {
  return page(404, 'Unknown link', '<p>This link is unknown or its subscription has ended. <a href="/subscribe">Subscribe again</a>.</p>');
}

export function filterSavedPage(address: string): Reply {
  return page(200, 'Saved', `<p>What <b>${esc(address)}</b> receives is changed.</p>`);
}

/** A form that could not be taken, naming each field and why. */
export function formProblemsPage(status: number, problems: { field: string; message: string }[], headers: Record<string, string> = {}): Reply {
  return page(status, status === 429 ? 'Too many requests' : 'Please check the form', `<ul>${problems.map((p) => `<li><b>${esc(p.field)}</b>: ${esc(p.message)}</li>`).join('')}</ul><p><a href="/subscribe">Back to the form</a></p>`, headers);
}
