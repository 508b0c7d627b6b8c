import { randomBytes } from 'node:crypto';
import { buildEmailMessage, parseSender } from '../../src/channels/email-message';
import { ackBlock } from '../../src/channels/slack';
import { parseEmailInput } from '../../src/cli/inputs/email-input';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDrillAckLinks, DRILL_ACK_KEY_FILE, drillAckKey, drillAckUrl, openDrillAckKey } from '../../src/drills/drill-ack-key';
import { buildSignedBody, buildSignedEntity } from '../../src/notices/pgp-mime';

const envelope = {
  sender: parseSender('ACME Security <security@acme.example>'),
  to: 'ops@partner.example',
  noticeId: 'msg_1',
  recipientId: 'rcpt_1',
  unsubscribeUrl: 'https://tocsin.example/v1/unsubscribe/u',
  date: new Date('2026-12-02T10:00:00Z'),
};

describe('drill acknowledgement tokens', () => {
  const key = drillAckKey(randomBytes(32));

  it('are one per drill and recipient, and name their recipient only for that drill', () => {
    const token = key.tokenFor('drill_a', 'rcpt_1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.tokenFor('drill_a', 'rcpt_1')).toBe(token);
    expect(key.tokenFor('drill_a', 'rcpt_2')).not.toBe(token);
    expect(key.recipientOf('drill_a', token, ['rcpt_2', 'rcpt_1'])).toBe('rcpt_1');
    expect(key.recipientOf('drill_b', token, ['rcpt_1'])).toBeNull();
    expect(key.recipientOf('drill_a', token, ['rcpt_2'])).toBeNull();
    expect(key.recipientOf('drill_a', `${token}x`, ['rcpt_1'])).toBeNull();
    expect(key.recipientOf('drill_a', token.slice(0, -1), ['rcpt_1'])).toBeNull();
    expect(drillAckKey(randomBytes(32)).recipientOf('drill_a', token, ['rcpt_1'])).toBeNull();
  });

  it('go in a link under the public URL', () => {
    expect(drillAckUrl('https://tocsin.example', 'drill_a', 'abc')).toBe('https://tocsin.example/v1/drills/drill_a/ack?token=abc');
  });
});

describe("a drill email's unsigned acknowledgement part", () => {
  const entity = buildSignedEntity('[DRILL] No action needed\nAdvisory: drill_a revision 1\n');
  const signature = '-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n';
  const { contentType, body } = buildSignedBody(entity, signature, 'pgp-sha512');
  const payload = { contentType, body, subject: '[DRILL] No action needed drill_a: t', drill: true as const };

  it('wraps the signed message, unchanged, after a note with the link; the .eml reader finds the signed part', () => {
    const url = 'https://tocsin.example/v1/drills/drill_a/ack?token=T';
    const raw = buildEmailMessage(payload, { ...envelope, ackUrl: url });
    expect(raw).toMatch(/\r\nContent-Type: multipart\/mixed;(?: |\r\n )boundary="=_tocsin-mixed-[0-9a-f]{24}"\r\n\r\n/);
    expect(raw).toContain(`\r\n${url}\r\n`);
    expect(raw).toContain(`${body}--=_tocsin-mixed-`);
    expect(raw.indexOf(url)).toBeLessThan(raw.indexOf(body));
    for (const file of [raw, raw.replace(/\r\n/g, '\n')]) {
      expect(parseEmailInput(file, undefined)).toEqual({ kind: 'detached', document: entity, signature: signature.trimEnd().replace(/\n/g, '\r\n'), form: 'email (.eml)' });
    }
    // No link: the message is the signed message itself, as for an advisory.
    expect(buildEmailMessage(payload, envelope)).toMatch(/\r\nContent-Type: multipart\/signed;/);
  });

  it('refuses a link that could break out of its line or its Slack link', () => {
    expect(() => buildEmailMessage(payload, { ...envelope, ackUrl: 'https://x.example/a\r\nBcc: y' })).toThrow(/7-bit/);
    expect(() => ackBlock('https://x.example/a|b>')).toThrow(/Slack link/);
    expect(ackBlock('https://x.example/a?token=T').text.text).toContain('<https://x.example/a?token=T|Acknowledge this drill>');
  });
});

describe('the drill acknowledgement key in the data directory', () => {
  it('is made by the API only: a worker without it fails by name rather than sending links of a key of its own', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-ack-'));
    try {
      const links = createDrillAckLinks(dir, 'https://tocsin.example');
      await expect(links('drill_a', 'rcpt_1')).rejects.toThrow(DRILL_ACK_KEY_FILE);
      const api = await openDrillAckKey(dir);
      // Read again after the failure: the worker's link now carries the API's token.
      expect(await links('drill_a', 'rcpt_1')).toBe(drillAckUrl('https://tocsin.example', 'drill_a', api.tokenFor('drill_a', 'rcpt_1')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
