import { rm } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { parseEmailInput } from '../../src/cli/inputs/email-input';
import type { EmailPayload } from '../../src/notices/email-notice';
import { createNoticeRenderThread, type NoticeRenderThread } from '../../src/notices/render-in-thread';
import { defaultTemplatesDir, renderNotices } from '../../src/notices/render-notices';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { soleSigner, type BroadcasterSigner } from '../../src/pgp/broadcaster-keys';
import { verifyDetached } from '../../src/pgp/detached';
import { ThreadDeadlineError } from '../../src/util/thread-errors';
import { archivedSample } from '../contract/contract-notice';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { heavyAdvisory, heavyEmailTemplates } from '../support/heavy-render';
import { archivedDocument } from '../support/notice-fixture';

const PUBLIC_URL = 'http://127.0.0.1:1';
const EVERY_CHANNEL = { webhook: ['w'], email: ['e'], slack: ['s'], mastodon: ['m'] };

/** Notices rendered in a worker thread: the same notices as on the caller's thread, and a render that hangs costs only itself. */
describe('the notice-render thread', () => {
  let signer: BroadcasterSigner;
  let templates: string;
  let thread: NoticeRenderThread;

  beforeAll(async () => {
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'render@example.org' }], format: 'object' });
    signer = soleSigner({ privateKey, publicKey: privateKey.toPublic(), armoredPublicKey: privateKey.toPublic().armor(), fingerprint: privateKey.getFingerprint().toUpperCase() });
    templates = await heavyEmailTemplates();
  });
  afterEach(async () => {
    await thread?.close();
  });
  afterAll(async () => {
    await rm(templates, { recursive: true, force: true });
  });

  it('renders and signs what renderNotices renders, with the keys handed over', async () => {
    thread = createNoticeRenderThread({ signer: async () => signer, publicUrl: PUBLIC_URL, templatesDir: defaultTemplatesDir() });
    const archived = await archivedSample('THREAD-1', signer.fingerprint, signer.signingKeys);
    const there = await thread.render(archived, EVERY_CHANNEL);
    const here = await renderNotices(archived, EVERY_CHANNEL, { broadcaster: signer, publicUrl: PUBLIC_URL, templatesDir: defaultTemplatesDir() });
    expect([...there.keys()].sort()).toEqual([...here.keys()].sort());
    for (const [channel, notice] of here) {
      expect(there.get(channel)).toMatchObject({ ref: notice.ref, messageId: notice.messageId, acceptedAt: notice.acceptedAt });
    }
    // The webhook notice signs nothing itself: byte for byte the same.
    expect(JSON.parse(there.get('webhook')!.payload) as WebhookBody).toEqual(JSON.parse(here.get('webhook')!.payload) as WebhookBody);
    // The email notice is signed in the thread by the key this thread holds.
    const email = JSON.parse(there.get('email')!.payload) as EmailPayload;
    const parsed = parseEmailInput(`Content-Type: ${email.contentType}\r\n\r\n${email.body}`, undefined);
    if (parsed?.kind !== 'detached') throw new Error('the email notice did not parse');
    const verdict = await verifyDetached(Buffer.from(parsed.document, 'utf8'), [parsed.signature], [signer.publicKey]);
    expect(verdict.valid.map((v) => v.fingerprint)).toEqual([signer.fingerprint]);
  });

  it('carries the variant across: an embargoed update says so there as here', async () => {
    thread = createNoticeRenderThread({ signer: async () => signer, publicUrl: PUBLIC_URL, templatesDir: defaultTemplatesDir() });
    const until = '2026-12-09T14:00:00Z';
    const first = sampleAdvisory({ id: 'THREAD-V', tlp: 'AMBER', embargo_until: until, audience: ['distros'] });
    const archived = await archivedDocument({ ...first, revision: 2, severity: 'high' }, signer);
    const variant = { embargoedUntil: until, previous: { revision: 1, document: documentText(first) } };
    const there = await thread.render(archived, EVERY_CHANNEL, variant);
    const here = await renderNotices(archived, EVERY_CHANNEL, { broadcaster: signer, publicUrl: PUBLIC_URL, templatesDir: defaultTemplatesDir(), variant });
    const body = JSON.parse(there.get('webhook')!.payload) as WebhookBody;
    expect(body).toEqual(JSON.parse(here.get('webhook')!.payload) as WebhookBody);
    expect(body).toMatchObject({ tlp: 'AMBER', embargo_until: until, previous_revision: 1, changes: ['severity'] });
    const email = JSON.parse(there.get('email')!.payload) as EmailPayload;
    expect(email.subject).toBe(`TLP:AMBER [EMBARGOED until 2026-12-09 14:00 UTC] [UPDATED] [HIGH] THREAD-V revision 2: ${String(first.title)}`);
  });

  it('fails a render past its deadline, and renders the next one on a fresh thread', async () => {
    thread = createNoticeRenderThread({ signer: async () => signer, publicUrl: PUBLIC_URL, templatesDir: templates, deadlineMs: 300 });
    const heavy = await archivedSample('THREAD-HEAVY', signer.fingerprint, signer.signingKeys);
    heavy.document = documentText(heavyAdvisory());
    await expect(thread.render(heavy, { email: ['e'] })).rejects.toBeInstanceOf(ThreadDeadlineError);
    const light = await archivedSample('THREAD-2', signer.fingerprint, signer.signingKeys);
    const notices = await thread.render(light, { email: ['e'] });
    expect(notices.get('email')?.ref).toEqual({ id: 'THREAD-2', revision: 1 });
  });
});
