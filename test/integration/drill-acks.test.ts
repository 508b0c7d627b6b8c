import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { createGpgPublisher, gpgVerify, type GpgPublisher } from '../support/gpg';
import { readHeaders, readSignedMessage } from '../support/mime-reader';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

const ACK_LINK = /\/v1\/drills\/([A-Za-z0-9_-]+)\/ack\?token=([A-Za-z0-9_-]+)/;

/** The body parts of a multipart message, as raw text (read apart from tocsin's own parser). */
function mimeParts(raw: string): string[] {
  const boundary = /boundary="([^"]+)"/.exec(readHeaders(raw).get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error('no boundary');
  const chunks = raw.split(`\r\n--${boundary}`);
  // The preamble before the first delimiter, and the epilogue after the closing one, are no parts.
  return chunks.slice(1, -1).map((c) => c.slice(c.indexOf('\r\n') + 2));
}

/**
 * Drill acknowledgement through the running service: email and Slack notices of a drill carry a
 * link of their recipient's own, outside tocsin's signature; a person's confirmation is recorded
 * once, and the report shows who confirmed and when.
 */
describe('drill acknowledgement links', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let slack: FakeSlack;
  let smtp: SmtpSink;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-drill-acks-'));
    publisher = await createGpgPublisher('sec@example.org');
    slack = await startFakeSlack();
    smtp = await startSmtpSink();
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>' } });
  });
  afterAll(async () => {
    await tocsin?.close();
    await Promise.all([slack?.close(), smtp?.close()]);
    await publisher?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function enrol(body: Record<string, unknown>): Promise<string> {
    const r = await tocsin.admin('POST', '/v1/recipients', body);
    expect({ status: r.status, body: r.json }).toMatchObject({ status: 201 });
    return r.json.id as string;
  }

  const mailFor = (address: string, id: string) => eventually(async () => smtp.mails.find((m) => m.to.includes(address) && m.raw.toString('latin1').includes(id)), 20_000, `mail of ${id} to ${address}`);
  const postTo = (channel: string, id: string) =>
    eventually(async () => slack.calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === channel && JSON.stringify(c.args).includes(id)), 20_000, `Slack post of ${id}`);
  const ackPath = (text: string) => {
    const m = ACK_LINK.exec(text);
    if (!m) throw new Error('no acknowledgement link');
    return { path: m[0], id: m[1]!, token: m[2]! };
  };
  const confirm = (id: string, token: string) =>
    fetch(`${tocsin.url}/v1/drills/${id}/ack`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
  const acksOf = async (id: string) => (await tocsin.admin('GET', `/v1/drills/${id}`)).json.acks as Record<string, { recipient: string; at: string }[]>;

  it('gives each email and Slack recipient its own link, records the first confirmation once, and 404s a forged one', async () => {
    const group = uniqueId('ack').toLowerCase();
    const address = `${uniqueId('ops').toLowerCase()}@example.org`;
    const channel = `C${Date.now()}`;
    const mailId = await enrol({ type: 'email', address, groups: [group] });
    const slackId = await enrol({ type: 'slack', channel_id: channel, token: 'xoxb-ack-0000', api_url: slack.apiUrl, groups: [group] });

    const started = await tocsin.admin('POST', '/v1/drills', { group });
    expect(started.status).toBe(202);
    const id = started.json.id as string;

    const mail = (await mailFor(address, id)).raw.toString('latin1');
    const post = await postTo(channel, id);
    const mailLink = ackPath(mail);
    const slackLink = ackPath(post.args.blocks ?? '');
    expect(mailLink.id).toBe(id);
    expect(slackLink.id).toBe(id);
    expect(mailLink.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mailLink.token).not.toBe(slackLink.token);
    // The Slack link sits in a block after the signed text, apart from it.
    const blocks = JSON.parse(post.args.blocks!) as { type: string }[];
    expect(blocks.map((b) => b.type).slice(-2)).toEqual(['rich_text', 'section']);
    expect(JSON.stringify(blocks.slice(0, -1))).not.toContain('/ack?');
    expect(JSON.stringify(blocks.at(-1))).toContain(slackLink.path);

    // Opening the link records nothing (mail scanners open links): only the button does.
    const opened = await fetch(`${tocsin.url}${mailLink.path}`);
    expect(opened.status).toBe(200);
    const openedPage = await opened.text();
    expect(openedPage).toContain(`action="/v1/drills/${id}/ack"`);
    expect(openedPage).toContain('<button type="submit">');
    expect(openedPage).not.toMatch(/<script/i);
    expect(opened.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await acksOf(id)).email).toEqual([]);

    const first = await confirm(id, mailLink.token);
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('Thank you');
    const recorded = await acksOf(id);
    expect(recorded.email).toEqual([{ recipient: mailId, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    expect(recorded.slack).toEqual([]);

    // Single use: the second press and the link opened again say so, and add no record.
    const again = await confirm(id, mailLink.token);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('Already confirmed');
    const reopened = await fetch(`${tocsin.url}${mailLink.path}`);
    expect(await reopened.text()).toContain('Already confirmed');
    expect((await acksOf(id)).email).toEqual(recorded.email);

    expect((await confirm(id, slackLink.token)).status).toBe(200);
    const both = await acksOf(id);
    expect(both.email).toEqual(recorded.email);
    expect(both.slack).toEqual([{ recipient: slackId, at: expect.any(String) }]);

    // A forged token, a token of another drill, no token: the same 404 page, nothing recorded.
    const forged = randomBytes(32).toString('base64url');
    const other = (await tocsin.admin('POST', '/v1/drills', { channels: ['webhook'] })).json.id as string;
    for (const bad of [`/v1/drills/${id}/ack?token=${forged}`, `/v1/drills/${other}/ack?token=${mailLink.token}`, `/v1/drills/${id}/ack`, `/v1/drills/${id}/ack?token=${mailLink.token}x`]) {
      const r = await fetch(`${tocsin.url}${bad}`);
      expect({ bad, status: r.status }).toEqual({ bad, status: 404 });
      expect(await r.text()).toContain('Unknown acknowledgement link');
    }
    expect((await confirm(id, forged)).status).toBe(404);
    expect((await confirm(other, mailLink.token)).status).toBe(404);
    expect(await acksOf(id)).toEqual(both);
    expect((await acksOf(other)).email).toBeUndefined();

    const page = await tocsin.admin('GET', `/v1/drills/${id}/report.html`);
    expect(page.text).toContain('Acknowledged');
    expect(page.text).toContain(mailId);
    expect(page.text).toContain(slackId);
  });

  it("keeps the email's signed part as everyone gets it: gpg and `tocsin verify` accept it, the link is outside", async () => {
    const address = `${uniqueId('sig').toLowerCase()}@example.org`;
    const group = uniqueId('sig').toLowerCase();
    await enrol({ type: 'email', address, groups: [group] });
    const id = (await tocsin.admin('POST', '/v1/drills', { group })).json.id as string;
    const raw = (await mailFor(address, id)).raw;
    const text = raw.toString('latin1');

    const headers = readHeaders(text);
    expect(headers.get('content-type')).toMatch(/^multipart\/mixed;/);
    expect(headers.get('subject')).toMatch(/^\[DRILL\] No action needed /);
    expect(headers.get('list-unsubscribe')).toMatch(/^<http:\/\/localhost:\d+\/v1\/unsubscribe\/[A-Za-z0-9_-]+>$/);
    expect(headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');

    const [note, signedMessage] = mimeParts(text);
    expect(note!.slice(note!.indexOf('\r\n\r\n') + 4).split('\r\n')[0]).toBe('[DRILL] No action needed');
    expect(note).toMatch(ACK_LINK);
    const signed = readSignedMessage(Buffer.from(signedMessage!, 'latin1'));
    expect(signed.headers.get('content-type')).toMatch(/^multipart\/signed;/);
    expect(signed.signedPart.toString('latin1')).not.toMatch(ACK_LINK);
    const key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
    expect(await gpgVerify(key, signed.signedPart, signed.signature)).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });

    const eml = path.join(dir, `${id}.eml`);
    const keyFile = path.join(dir, 'broadcaster.asc');
    await writeFile(eml, raw);
    await writeFile(keyFile, key);
    const verdict = await runCli(['verify', eml, '--key', keyFile]);
    expect({ code: verdict.code, stderr: verdict.stderr }).toEqual({ code: 0, stderr: '' });
    expect(verdict.stdout).toContain('OK: good signature on the email (.eml)');
  });

  it('puts no link in an advisory', async () => {
    const address = `${uniqueId('adv').toLowerCase()}@example.org`;
    const channel = `C${Date.now()}9`;
    await enrol({ type: 'email', address });
    await enrol({ type: 'slack', channel_id: channel, token: 'xoxb-ack-0000', api_url: slack.apiUrl });
    const real = uniqueId('REAL');
    const document = documentText(sampleAdvisory({ id: real }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    const mail = (await mailFor(address, real)).raw.toString('latin1');
    expect(readHeaders(mail).get('content-type')).toMatch(/^multipart\/signed;/);
    expect(mail).not.toContain('/ack?token=');
    const post = await postTo(channel, real);
    expect(JSON.stringify(post.args)).not.toContain('/ack?token=');
  });
});
