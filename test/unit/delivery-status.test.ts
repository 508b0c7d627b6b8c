import { isHardBounce, readDeliveryStatus, UnreadableReportError } from '../../src/bounces/delivery-status';
import { applyHardBounce, isActive } from '../../src/recipients/recipient-status';

const report = (status: string, extra = '') =>
  [
    '--b1',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--b1',
    `Content-Type: message/delivery-status${extra}`,
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    'Final-Recipient: rfc822; <one@example.org> (the first)',
    'Action: failed',
    `Status: ${status}`,
    '',
    'Original-Recipient: rfc822;two@example.org',
    'Final-Recipient: RFC822;',
    '  two@example.org',
    'Action: Delayed',
    'Status: 4.4.7',
    '',
    '--b1--',
    '',
  ].join('\r\n');

describe('reading RFC 3464 delivery status notifications', () => {
  it('takes every recipient group after the per-message one, folded lines, comments and case aside', () => {
    expect(readDeliveryStatus(report('5.1.1'), 'multipart/report; report-type=delivery-status; boundary=b1')).toEqual([
      { address: 'one@example.org', action: 'failed', status: '5.1.1', report: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { address: 'two@example.org', action: 'delayed', status: '4.4.7', report: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
  });

  it('reads a whole message, a base64 status part, and a report nested in a multipart/mixed', () => {
    const base64Part = [
      '--inner',
      'Content-Type: message/delivery-status',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; b64@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n').toString('base64'),
      '--inner--',
    ].join('\r\n');
    const message = ['From: MAILER-DAEMON@mx', 'Content-Type: multipart/mixed; boundary="outer"', '', '--outer', 'Content-Type: multipart/report; boundary="inner"', '', base64Part, '--outer--', ''].join('\r\n');
    expect(readDeliveryStatus(message)).toEqual([{ address: 'b64@example.org', action: 'failed', status: '5.2.2', report: expect.any(String) }]);
  });

  it("names each entry's report by its delivery-status fields: the same report however wrapped or folded, another for another message", () => {
    const type = 'multipart/report; report-type=delivery-status; boundary=b1';
    const [one, two] = readDeliveryStatus(report('5.1.1'), type).map((e) => e.report);
    expect(one).not.toBe(two);
    // The whole message, or the same fields folded and spaced otherwise: the same report.
    expect(readDeliveryStatus(`From: MAILER-DAEMON@mx\r\nContent-Type: ${type}\r\n\r\n${report('5.1.1')}`).map((e) => e.report)).toEqual([one, two]);
    const refolded = report('5.1.1').replace('Reporting-MTA: dns; mx.example.net', 'reporting-mta:\r\n   dns;  mx.example.net');
    expect(readDeliveryStatus(refolded, type).map((e) => e.report)).toEqual([one, two]);
    // Another bounce: another arrival (per message) or another status (per recipient).
    const later = report('5.1.1').replace('Reporting-MTA: dns; mx.example.net', 'Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Tue, 3 Dec 2026 10:00:00 +0000');
    expect(readDeliveryStatus(later, type)[0]!.report).not.toBe(one);
    expect(readDeliveryStatus(report('5.2.2'), type)[0]!.report).not.toBe(one);
  });

  it('refuses a message with no delivery-status part, and nesting without end', () => {
    expect(() => readDeliveryStatus('Subject: hi\r\n\r\nhello\r\n')).toThrow(UnreadableReportError);
    let nested = report('5.1.1');
    for (let i = 0; i < 10; i++) nested = `--n${i}\r\nContent-Type: multipart/mixed; boundary=${i === 0 ? 'b1' : `n${i - 1}`}\r\n\r\n${nested}\r\n--n${i}--\r\n`;
    expect(() => readDeliveryStatus(nested, 'multipart/mixed; boundary=n9')).toThrow(UnreadableReportError);
  });

  it('counts only a failure with a 5.x.x status as hard', () => {
    expect(isHardBounce({ address: 'a@b.c', action: 'failed', status: '5.1.1' })).toBe(true);
    expect(isHardBounce({ address: 'a@b.c', action: 'failed', status: '4.4.1' })).toBe(false);
    expect(isHardBounce({ address: 'a@b.c', action: 'delayed', status: '5.1.1' })).toBe(false);
  });
});

describe('hard bounces on a recipient', () => {
  it('makes it inactive at the third, not before', () => {
    let r = { id: 'rcpt_x', created_at: '2026-01-01T00:00:00Z', type: 'email' as const, address: 'a@example.org', unsubscribe_token: 't' };
    for (const expected of [true, true, false]) {
      r = applyHardBounce(r);
      expect(isActive(r)).toBe(expected);
    }
    expect(r).toMatchObject({ hard_bounces: 3, status: 'inactive' });
  });
});
