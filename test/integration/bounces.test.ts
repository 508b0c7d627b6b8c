import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { ADMIN_TOKEN, startTocsin, type Tocsin } from '../support/tocsin-harness';

/**
 * A bounce as Postfix sends it back to the envelope sender: RFC 3464's multipart/report with a
 * human part, the message/delivery-status part (per-message fields, then one group per
 * recipient), and the returned headers.
 */
function postfixBounce(address: string, status: string, action = 'failed'): string {
  return [
    'Return-Path: <>',
    'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
    'To: security@acme.example',
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="8F2C2A1B5E.1733140000/mx.example.net"',
    '',
    'This is a MIME-encapsulated message.',
    '',
    '--8F2C2A1B5E.1733140000/mx.example.net',
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'I\'m sorry to have to inform you that your message could not',
    'be delivered to one or more recipients.',
    '',
    `<${address}>: host mx.example.net said: 550 5.1.1 User unknown`,
    '',
    '--8F2C2A1B5E.1733140000/mx.example.net',
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    'X-Postfix-Queue-ID: 8F2C2A1B5E',
    'Arrival-Date: Mon,  2 Dec 2026 10:00:00 +0000 (UTC)',
    '',
    `Final-Recipient: rfc822; ${address}`,
    `Original-Recipient: rfc822;${address}`,
    `Action: ${action}`,
    `Status: ${status} (a comment)`,
    'Remote-MTA: dns; mx.example.net',
    `Diagnostic-Code: smtp; 550 ${status} <${address}>:`,
    '    Recipient address rejected: User unknown',
    '',
    '--8F2C2A1B5E.1733140000/mx.example.net',
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    'From: ACME Security <security@acme.example>',
    `To: ${address}`,
    'Subject: TLP:CLEAR [CRITICAL] ACME-2026-0001 revision 1',
    '',
    '--8F2C2A1B5E.1733140000/mx.example.net--',
    '',
  ].join('\r\n');
}

describe('bounces', () => {
  let publisher: GpgPublisher;
  let relay: SmtpSink;
  let tocsin: Tocsin;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    relay = await startSmtpSink();
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_SMTP_URLS: relay.url, TOCSIN_MAIL_FROM: 'security@acme.example' } });
  });
  afterAll(async () => {
    await tocsin?.close();
    await relay?.close();
    await publisher?.dispose();
  });

  const postReport = (raw: string, contentType = 'message/rfc822') =>
    tocsin.call('POST', '/v1/bounces', raw, { 'content-type': contentType, authorization: `Bearer ${ADMIN_TOKEN}` });

  const enrol = async (address: string) => (await tocsin.admin('POST', '/v1/recipients', { type: 'email', address })).json.id as string;

  it('marks an address inactive after three hard bounces from real RFC 3464 reports; it then receives nothing', async () => {
    const dead = await enrol('gone@example.org');
    const alive = await enrol('alive@example.org');

    // A delay is no hard bounce.
    const delayed = await postReport(postfixBounce('gone@example.org', '4.4.1', 'delayed'));
    expect(delayed.status).toBe(200);
    expect(delayed.json.bounces).toEqual([{ address: 'gone@example.org', action: 'delayed', status: '4.4.1', hard: false, recipients: [{ id: dead, hard_bounces: 0, status: 'active' }] }]);

    for (const n of [1, 2]) {
      const r = await postReport(postfixBounce('gone@example.org', '5.1.1'));
      expect(r.json.bounces[0]).toMatchObject({ hard: true, recipients: [{ id: dead, hard_bounces: n, status: 'active' }] });
    }
    // The report as an HTTP body of its own type works as the whole message does.
    const raw = postfixBounce('GONE@example.org', '5.1.1');
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    const third = await postReport(body, 'multipart/report; report-type=delivery-status; boundary="8F2C2A1B5E.1733140000/mx.example.net"');
    expect(third.json.bounces[0]).toMatchObject({ hard: true, recipients: [{ id: dead, hard_bounces: 3, status: 'inactive' }] });

    expect((await tocsin.admin('GET', `/v1/recipients/${dead}`)).json).toMatchObject({ status: 'inactive', hard_bounces: 3 });
    const listed = await runCli(['recipients', 'list'], { TOCSIN_URL: tocsin.url, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(listed.stdout).toMatch(new RegExp(`^${dead}\\s+email\\s+gone@example\\.org\\s+\\S+\\s+CLEAR\\s+-\\s+inactive\\(3-bounces\\)`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${alive}\\s+email\\s+alive@example\\.org\\s+\\S+\\s+CLEAR\\s+-\\s+active`, 'm'));

    const document = documentText(sampleAdvisory({ id: uniqueId('BOUNCE') }));
    const id = (await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).json.id as string;
    await eventually(async () => relay.mails.find((m) => m.to.includes('alive@example.org') && m.raw.includes(id)), 15_000, 'mail to the live address');
    const deliveries = (await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`)).json.deliveries as { recipient: string }[];
    expect(deliveries.map((d) => d.recipient)).toEqual([alive]);
  });

  it("takes a relay's JSON, and refuses what it cannot read, naming the field", async () => {
    const id = await enrol('json@example.org');
    const r = await tocsin.admin('POST', '/v1/bounces', { bounces: [{ address: 'json@example.org', status: '5.2.1' }, { address: 'stranger@example.org', status: '5.1.1' }] });
    expect(r.status).toBe(200);
    expect(r.json.bounces).toEqual([
      { address: 'json@example.org', action: 'failed', status: '5.2.1', hard: true, recipients: [{ id, hard_bounces: 1, status: 'active' }] },
      { address: 'stranger@example.org', action: 'failed', status: '5.1.1', hard: true, recipients: [] },
    ]);

    const bad = await tocsin.admin('POST', '/v1/bounces', { bounces: [{ address: 'json@example.org', status: 'bounced' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toEqual([{ field: 'bounces.0.status', message: 'must be an RFC 3463 status code such as 5.1.1' }]);

    const notReport = await postReport('Subject: hello\r\n\r\njust a letter\r\n');
    expect(notReport.status).toBe(400);
    expect(notReport.json.error.fields[0].field).toBe('(body)');

    // Admin only.
    expect((await tocsin.call('POST', '/v1/bounces', { bounces: [{ address: 'json@example.org', status: '5.1.1' }] })).status).toBe(401);
  });
});
