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
function postfixBounce(address: string, status: string, action = 'failed', queueId = '8F2C2A1B5E'): string {
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
    `X-Postfix-Queue-ID: ${queueId}`,
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
    expect(delayed.json.bounces).toEqual([{ address: 'gone@example.org', action: 'delayed', status: '4.4.1', hard: false, duplicate: false, recipients: [{ id: dead, hard_bounces: 0, status: 'active' }] }]);

    // Two messages bounced: two reports, which differ in the relay's queue id.
    for (const n of [1, 2]) {
      const r = await postReport(postfixBounce('gone@example.org', '5.1.1', 'failed', `QUEUE${n}`));
      expect(r.json.bounces[0]).toMatchObject({ hard: true, duplicate: false, recipients: [{ id: dead, hard_bounces: n, status: 'active' }] });
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
      { address: 'json@example.org', action: 'failed', status: '5.2.1', hard: true, duplicate: false, recipients: [{ id, hard_bounces: 1, status: 'active' }] },
      { address: 'stranger@example.org', action: 'failed', status: '5.1.1', hard: true, duplicate: false, recipients: [] },
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
  it('counts a report handed over twice once (a relay retrying its POST), across a restart too', async () => {
    const id = await enrol('twice@example.org');
    const other = await enrol('other@example.org');
    const report = postfixBounce('twice@example.org', '5.1.1', 'failed', 'AB12CD34');
    const first = await postReport(report);
    expect(first.json.bounces[0]).toMatchObject({ hard: true, duplicate: false, recipients: [{ id, hard_bounces: 1 }] });
    const again = await postReport(report);
    expect(again.status).toBe(200);
    expect(again.json.bounces).toEqual([{ address: 'twice@example.org', action: 'failed', status: '5.1.1', hard: true, duplicate: true, recipients: [{ id, hard_bounces: 1, status: 'active' }] }]);
    // The report alone (the message's body) is the same report as the whole message.
    const body = report.slice(report.indexOf('\r\n\r\n') + 4);
    const bodyOnly = await postReport(body, 'multipart/report; report-type=delivery-status; boundary="8F2C2A1B5E.1733140000/mx.example.net"');
    expect(bodyOnly.json.bounces[0]).toMatchObject({ duplicate: true, recipients: [{ id, hard_bounces: 1 }] });

    // The same new report twice at once: one counts.
    const racing = postfixBounce('twice@example.org', '5.1.1', 'failed', 'EF56AB78');
    const both = await Promise.all([postReport(racing), postReport(racing)]);
    expect(both.map((r) => r.json.bounces[0].duplicate).sort()).toEqual([false, true]);
    expect((await tocsin.admin('GET', `/v1/recipients/${id}`)).json).toMatchObject({ hard_bounces: 2, status: 'active' });

    // Remembered with the bounce in recipients.jsonl: a restart does not forget it.
    await tocsin.restartApi();
    expect((await postReport(report)).json.bounces[0]).toMatchObject({ duplicate: true, recipients: [{ id, hard_bounces: 2, status: 'active' }] });

    // A relay's JSON: its `id` names the bounce; the same id for another address is another bounce.
    const json = (bounces: unknown[]) => tocsin.admin('POST', '/v1/bounces', { bounces });
    const withId = await json([{ address: 'other@example.org', status: '5.1.1', id: 'evt-1' }, { address: 'twice@example.org', status: '5.1.1', id: 'evt-1' }]);
    expect(withId.json.bounces.map((b: { duplicate: boolean }) => b.duplicate)).toEqual([false, false]);
    expect(withId.json.bounces[1].recipients[0]).toEqual({ id, hard_bounces: 3, status: 'inactive' });
    const retried = await json([{ address: 'OTHER@example.org', status: '5.1.1', id: 'evt-1' }]);
    expect(retried.json.bounces[0]).toMatchObject({ duplicate: true, recipients: [{ id: other, hard_bounces: 1 }] });
    // Without an id, entries cannot be told apart: each counts.
    await json([{ address: 'other@example.org', status: '5.1.1' }]);
    expect((await json([{ address: 'other@example.org', status: '5.1.1' }])).json.bounces[0]).toMatchObject({ duplicate: false, recipients: [{ id: other, hard_bounces: 3, status: 'inactive' }] });
  });
});
