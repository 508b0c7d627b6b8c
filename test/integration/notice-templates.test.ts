import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EmailPayload } from '../../src/notices/email-notice';
import { noticeRenderers } from '../../src/notices/render-notices';
import type { BroadcasterSigner } from '../../src/pgp/broadcaster-keys';
import { sampleAdvisory } from '../support/advisory-fixture';
import { archivedDocument, renderContext, sampleRetraction, testBroadcaster } from '../support/notice-fixture';

/**
 * A team's TOCSIN_TEMPLATES_DIR made before retractions existed: it rewords email.txt and holds
 * nothing else. Its wording is used, the shipped templates fill in the rest, and the marks are
 * there although its template never printed them.
 */
describe('a templates directory holding only some templates', () => {
  let dir: string;
  let broadcaster: BroadcasterSigner;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-own-templates-'));
    await writeFile(path.join(dir, 'email.txt'), 'Our own wording for {{id}}\nAdvisory: {{id}} revision {{revision}}\nTitle: {{title}}\n');
    ({ broadcaster } = await testBroadcaster());
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const emailOf = async (doc: Record<string, unknown>, record = {}) => {
    const notice = await noticeRenderers.email!(await archivedDocument(doc, broadcaster, record), { ...renderContext(broadcaster, {}), templatesDir: dir });
    return JSON.parse(notice.payload) as EmailPayload;
  };

  it("uses the team's email.txt, the shipped email.html, and puts the marks in front of both", async () => {
    const mail = await emailOf(sampleAdvisory({ id: 'OWN-1', tlp: 'GREEN' }));
    expect(mail.body).toContain('TLP:GREEN\r\n\r\nOur own wording for OWN-1\r\n');
    expect(mail.body).toContain('<strong style="background: #000000; color: #33FF00; padding: 0 0.3em">TLP:GREEN</strong>');
  });

  it('renders a retraction from the shipped retraction templates it does not have', async () => {
    const mail = await emailOf(sampleRetraction({ id: 'OWN-1-R', retracts: 'OWN-1' }), { retracts: 'OWN-1' });
    expect(mail.subject).toMatch(/^TLP:CLEAR \[WITHDRAWN\] OWN-1: /);
    expect(mail.body).toContain('Retraction: OWN-1 is withdrawn');
    expect(mail.body).not.toContain('Our own wording');
  });
});
