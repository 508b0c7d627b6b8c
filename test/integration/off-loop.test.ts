import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { signDetached } from '../../src/pgp/detached';
import { redisKeys } from '../../src/queue/redis-keys';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { heavyAdvisory, heavyEmailTemplates } from '../support/heavy-render';
import { useTocsin } from '../support/use-tocsin';

/**
 * The longest the API's event loop may stall while heavy work runs elsewhere. Acceptance itself
 * (verifying, archiving, signing a small document) takes a few milliseconds at a time; a render
 * on the loop holds it for the whole render, seconds here.
 */
const STALL_BOUND_MS = 1_000;

/** Archived revisions of about 0.8 MB each, for the mirror to rebuild: seconds of work. */
const ADVISORIES = 24;

/**
 * The API answers while notices render and while the mirror builds: that work runs in worker
 * threads, so no document can stall intake. Measured in the API's own process (the harness runs
 * it in this one): how long its event loop was held at a time, and how busy it was.
 */
describe('work kept off the API\'s event loop', () => {
  const publisher = useGpgPublisher('heavy@example.org');
  let templates: string;

  beforeAll(async () => {
    templates = await heavyEmailTemplates();
  });
  afterAll(async () => {
    await rm(templates, { recursive: true, force: true });
  });

  describe('rendering notices', () => {
    let redis: Redis;

    // Hooks run in the order they are declared: this connection goes before tocsin closes.
    afterAll(() => {
      redis?.disconnect();
    });
    const tocsin = useTocsin(() => ({
      publishers: [publisher.armoredPublicKey],
      workers: false,
      env: { TOCSIN_TEMPLATES_DIR: templates, TOCSIN_SMTP_URLS: 'smtp://127.0.0.1:9', TOCSIN_MAIL_FROM: 'tocsin@example.org', TOCSIN_MIRROR_AUTO: '0' },
    }));
    beforeAll(async () => {
      redis = new Redis(tocsin.config.redisUrl);
      const enrolled = await tocsin.admin('POST', '/v1/recipients', { type: 'email', address: 'oncall@example.org' });
      expect(enrolled.status).toBe(201);
    });

    it('answers requests while a notice takes seconds to render', async () => {
      const doc = heavyAdvisory();
      const document = documentText(doc);
      const body = { document, signatures: [await publisher.sign(document)] };
      const enqueued = redisKeys(tocsin.config.prefix).enqueued({ id: doc.id as string, revision: 1 });

      const stalls = monitorEventLoopDelay({ resolution: 10 });
      stalls.enable();
      const started = performance.now();
      let answers = 0;
      let unanswered = 0;
      const accepted = tocsin.call('POST', '/v1/advisories', body);
      // Ask while the render runs, until its notice is stored.
      await eventually(
        async () => {
          const health = await tocsin.call('GET', '/healthz').catch(() => null);
          if (health?.status === 200) answers += 1;
          else unanswered += 1;
          return (await redis.exists(enqueued)) === 1;
        },
        60_000,
        'the heavy notice stored',
      );
      const renderMs = performance.now() - started;
      stalls.disable();

      expect((await accepted).status).toBe(202);
      // The work was heavy enough to show a stall, had it run on the loop.
      expect(renderMs).toBeGreaterThan(2 * STALL_BOUND_MS);
      expect(stalls.max / 1e6).toBeLessThan(STALL_BOUND_MS);
      expect(unanswered).toBe(0);
      expect(answers).toBeGreaterThan(3);
      // And it is the notice the template asked for: rendered, signed, stored once.
      const notice = JSON.parse((await redis.get(redisKeys(tocsin.config.prefix).notice('email', { id: doc.id as string, revision: 1 })))!) as { payload: string };
      expect(JSON.parse(notice.payload)).toMatchObject({ contentType: expect.stringContaining('multipart/signed') });
    });
  });

  describe('building the static mirror', () => {
    const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false }));

    beforeAll(async () => {
      await tocsin.api.mirror!.idle();
    });

    it('keeps the loop nearly idle while a large archive is rebuilt', async () => {
      // A large archive, written through the archive as intake writes it (with real signatures):
      // revisions of 0.8 MB, near the 1 MiB body limit.
      const archive = createAdvisoryArchive(tocsin.config.dataDir);
      const signer = await tocsin.api.keys.signer();
      const mitigation = 'Restrict the admin port to the management network; rotate every credential.\n'.repeat(125).slice(0, 9_999);
      for (let n = 0; n < ADVISORIES; n++) {
        const doc = sampleAdvisory({ id: uniqueId('LARGE'), mitigations: Array.from({ length: 80 }, () => ({ text: mitigation })) });
        const document = documentText(doc);
        await archive.store(
          {
            record: { id: doc.id as string, revision: 1, kind: 'advisory', title: doc.title as string, severity: 'critical', sha256: createHash('sha256').update(document).digest('hex'), accepted_at: new Date().toISOString(), publishers: [publisher.fingerprint], broadcaster_fingerprint: signer.fingerprint },
            document,
            publisherSignatures: [await publisher.sign(document)],
            broadcasterSignature: await signDetached(Buffer.from(document), signer.signingKeys),
          },
          {},
        );
      }

      const before = performance.eventLoopUtilization();
      const started = performance.now();
      tocsin.api.mirror!.schedule();
      await tocsin.api.mirror!.idle();
      const buildMs = performance.now() - started;
      const busy = performance.eventLoopUtilization(before);

      const index = await readFile(path.join(tocsin.config.mirror.dir, 'index.html'), 'utf8');
      expect(index.match(/<article id="LARGE-/g)).toHaveLength(ADVISORIES);
      // Long enough that a build on the loop would keep it busy most of this window (the
      // rebuilder waits a quarter of a second before it starts): about 0.75 when measured so.
      expect(buildMs).toBeGreaterThan(1_000);
      // In a thread, the loop only waits.
      expect(busy.utilization).toBeLessThan(0.25);
    });
  });
});
