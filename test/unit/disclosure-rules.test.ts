import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AdvisoryRecord } from '../../src/advisory/record';
import { advisoryDocumentSchema, type AdvisoryDocument, type Severity } from '../../src/advisory/schema';
import { createDisclosureRules, MAX_EMBARGO_DAYS, retractionOfFromArchive, type DisclosureRules } from '../../src/publish/disclosure-rules';
import { AdvisoryRetractedError, InvalidSubmissionError, NoSuchSubmissionError } from '../../src/publish/intake-errors';
import { createRevisionRules } from '../../src/publish/revision-rules';
import { requiredSignatures } from '../../src/publish/signature-policy';
import { createAdvisoryArchive, type AdvisoryArchive } from '../../src/storage/advisory-archive';
import { createHoldStore } from '../../src/storage/hold-store';
import { sampleAdvisory } from '../support/advisory-fixture';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-12-02T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

/**
 * The disclosure rules against a real archive in a temporary directory, with tocsin's clock
 * injected: history is what was accepted, and each rule is judged at the time the test sets.
 */
describe('the disclosure rules of intake', () => {
  let dir: string;
  let archive: AdvisoryArchive;
  let clock: number;
  /** One for the whole test, as intake keeps one: what it remembers of the archive must stay true as the archive grows. */
  let rules: DisclosureRules;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-disclosure-'));
    archive = createAdvisoryArchive(dir);
    clock = T0;
    rules = createDisclosureRules({ archive, retractionOf: retractionOfFromArchive(archive), now: () => new Date(clock) });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const doc = (fields: Record<string, unknown>): AdvisoryDocument => advisoryDocumentSchema.parse(sampleAdvisory(fields));
  const retraction = (fields: Record<string, unknown>): AdvisoryDocument =>
    advisoryDocumentSchema.parse({ id: 'WD-1', revision: 1, kind: 'retraction', retracts: 'ADV-1', title: 'Withdrawn', summary: 'Not a vulnerability after all.', published: at(clock), ...fields });

  /** Archives a document as accepted at tocsin's clock, as intake would record it. */
  async function accept(document: AdvisoryDocument): Promise<void> {
    const record: AdvisoryRecord = {
      id: document.id,
      revision: document.revision,
      kind: document.kind,
      title: document.title,
      severity: document.kind === 'retraction' || document.kind === 'status' || document.kind === 'drill' ? 'none' : document.severity,
      ...((document.kind === 'advisory' || document.kind === 'mitigation') && document.tlp ? { tlp: document.tlp } : {}),
      ...((document.kind === 'advisory' || document.kind === 'mitigation') && document.embargo_until ? { embargo_until: document.embargo_until, audience: document.audience } : {}),
      ...(document.kind === 'retraction' ? { retracts: document.retracts } : {}),
      sha256: '0'.repeat(64),
      accepted_at: at(clock),
      publishers: ['F'.repeat(40)],
      broadcaster_fingerprint: 'B'.repeat(40),
    };
    await archive.store({ record, document: JSON.stringify(document), publisherSignatures: [], broadcasterSignature: '' }, {});
  }

  /** The refusal's class and its fields, or 'ok'. */
  async function judge(document: AdvisoryDocument): Promise<unknown> {
    try {
      await rules.check(document);
      return 'ok';
    } catch (err) {
      if (err instanceof InvalidSubmissionError) return { status: 400, fields: err.problems.map((p) => p.field), message: err.message };
      if (err instanceof NoSuchSubmissionError) return { status: 404, fields: [err.field], message: err.message };
      if (err instanceof AdvisoryRetractedError) return { status: 409, fields: [err.field], message: err.message };
      throw err;
    }
  }

  describe('the embargo bound', () => {
    it(`takes an embargo up to ${MAX_EMBARGO_DAYS} days ahead of tocsin's clock, and refuses one a second later naming the limit`, async () => {
      expect(await judge(doc({ id: 'ADV-1', embargo_until: at(T0 + 90 * DAY), audience: ['distros'] }))).toBe('ok');
      expect(await judge(doc({ id: 'ADV-1', embargo_until: at(T0 + 90 * DAY + 1000), audience: ['distros'] }))).toEqual({
        status: 400,
        fields: ['document.embargo_until'],
        message: expect.stringContaining(`more than 90 days ahead (tocsin's clock says 2026-12-02T10:00:00.000Z): an embargo may end no later than 2027-03-02T10:00:00.000Z`),
      });
    });

    it('measures on its own clock in UTC, whatever offset the document writes', async () => {
      // Exactly 90 days ahead in UTC, though it reads 11:00 in +01:00.
      const limitInParis = '2027-03-02T11:00:00+01:00';
      expect(await judge(doc({ id: 'ADV-1', embargo_until: limitInParis, audience: ['distros'] }))).toBe('ok');
      clock -= 1000;
      expect(await judge(doc({ id: 'ADV-1', embargo_until: limitInParis, audience: ['distros'] }))).toMatchObject({ status: 400, fields: ['document.embargo_until'] });
    });

    it('takes an embargo already past as an ordinary publish', async () => {
      expect(await judge(doc({ id: 'ADV-1', embargo_until: at(T0 - 1000), audience: ['distros'] }))).toBe('ok');
      expect(await judge(doc({ id: 'ADV-1', embargo_until: at(T0 - 400 * DAY), audience: ['distros'] }))).toBe('ok');
    });

    it('counts the 90 days from the start of the embargo, so that extending it revision by revision cannot keep the public waiting for ever', async () => {
      await accept(doc({ id: 'ADV-1', embargo_until: at(T0 + 30 * DAY), audience: ['distros'] }));
      clock = T0 + 20 * DAY;
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 90 * DAY), audience: ['distros'] }))).toBe('ok');
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 91 * DAY), audience: ['distros'] }))).toEqual({
        status: 400,
        fields: ['document.embargo_until'],
        message: expect.stringContaining(`the embargo of ADV-1 began at ${at(T0)}`),
      });
    });
  });

  describe('moving the embargo', () => {
    beforeEach(async () => {
      await accept(doc({ id: 'ADV-1', embargo_until: at(T0 + 7 * DAY), audience: ['distros', 'cert'] }));
      clock = T0 + DAY;
    });

    it('takes an earlier or a later end, and a wider audience', async () => {
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 2 * DAY), audience: ['distros', 'cert'] }))).toBe('ok');
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 14 * DAY), audience: ['cert', 'distros'] }))).toBe('ok');
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 7 * DAY), audience: ['distros', 'cert', 'vendors'] }))).toBe('ok');
    });

    it('takes the end of the embargo: no embargo_until, or one already past', async () => {
      expect(await judge(doc({ id: 'ADV-1', revision: 2 }))).toBe('ok');
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0), audience: ['distros'] }))).toBe('ok');
    });

    it('refuses an audience that drops a group told earlier: it cannot be un-told', async () => {
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 7 * DAY), audience: ['distros'] }))).toEqual({
        status: 400,
        fields: ['document.audience'],
        message: expect.stringContaining('drops "cert", told under embargo by an earlier revision: it cannot be un-told'),
      });
      // A group told by any earlier embargoed revision counts, not only by the latest.
      await accept(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 7 * DAY), audience: ['distros', 'cert', 'vendors'] }));
      expect(await judge(doc({ id: 'ADV-1', revision: 3, embargo_until: at(T0 + 7 * DAY), audience: ['distros', 'cert'] }))).toMatchObject({
        status: 400,
        fields: ['document.audience'],
        message: expect.stringContaining('drops "vendors"'),
      });
    });

    it('refuses a new embargo once the advisory is out: its embargo ended, or it went out without one', async () => {
      clock = T0 + 8 * DAY;
      expect(await judge(doc({ id: 'ADV-1', revision: 2, embargo_until: at(T0 + 9 * DAY), audience: ['distros', 'cert'] }))).toEqual({
        status: 400,
        fields: ['document.embargo_until'],
        message: expect.stringContaining(`ADV-1 is already out (its embargo ended at ${at(T0 + 7 * DAY)}): a new embargo cannot un-tell it`),
      });
      await accept(doc({ id: 'ADV-2' }));
      expect(await judge(doc({ id: 'ADV-2', revision: 2, embargo_until: at(T0 + 9 * DAY), audience: ['distros'] }))).toMatchObject({
        status: 400,
        fields: ['document.embargo_until'],
        message: expect.stringContaining('revision 1 went out without an embargo'),
      });
    });

    it('lets a revision lower or raise the TLP label: the label is the publisher\'s to decide, and what went out stays out', async () => {
      await accept(doc({ id: 'ADV-3', tlp: 'AMBER' }));
      expect(await judge(doc({ id: 'ADV-3', revision: 2, tlp: 'CLEAR' }))).toBe('ok');
      await accept(doc({ id: 'ADV-4' }));
      expect(await judge(doc({ id: 'ADV-4', revision: 2, tlp: 'AMBER+STRICT' }))).toBe('ok');
    });
  });

  it('keeps a mitigation note of an embargoed advisory under that embargo: ending no earlier, told to no one else', async () => {
    await accept(doc({ id: 'ADV-1', embargo_until: at(T0 + 7 * DAY), audience: ['distros', 'cert'] }));
    const note = (fields: Record<string, unknown>) => doc({ id: 'MIT-1', kind: 'mitigation', mitigates: 'ADV-1', ...fields });
    expect(await judge(note({}))).toMatchObject({ status: 400, fields: ['document.embargo_until'], message: expect.stringContaining(`ADV-1 is under embargo until ${at(T0 + 7 * DAY)}`) });
    expect(await judge(note({ embargo_until: at(T0 + 6 * DAY), audience: ['distros'] }))).toMatchObject({ status: 400, fields: ['document.embargo_until'] });
    expect(await judge(note({ embargo_until: at(T0 + 7 * DAY), audience: ['distros', 'vendors'] }))).toMatchObject({
      status: 400,
      fields: ['document.audience'],
      message: expect.stringContaining('names "vendors", not told of ADV-1'),
    });
    expect(await judge(note({ embargo_until: at(T0 + 7 * DAY), audience: ['distros'] }))).toBe('ok');
    // Once the advisory is out, so may the note be.
    clock = T0 + 7 * DAY;
    expect(await judge(note({}))).toBe('ok');
  });

  describe('retraction', () => {
    beforeEach(async () => {
      await accept(doc({ id: 'ADV-1' }));
    });

    it('takes a retraction of an accepted advisory', async () => {
      expect(await judge(retraction({}))).toBe('ok');
    });

    it('answers 404 naming document.retracts for an id with no accepted revision', async () => {
      expect(await judge(retraction({ retracts: 'ADV-404' }))).toEqual({ status: 404, fields: ['document.retracts'], message: 'no advisory ADV-404' });
    });

    it('refuses a retraction of its own id, naming document.retracts', async () => {
      expect(await judge(retraction({ id: 'ADV-9', retracts: 'ADV-9' }))).toMatchObject({ status: 400, fields: ['document.retracts'] });
    });

    it('refuses a retraction under an advisory\'s id, and a withdrawal of a withdrawal', async () => {
      expect(await judge(retraction({ id: 'ADV-1', revision: 2, retracts: 'ADV-2' }))).toMatchObject({ status: 400, fields: ['document.kind'] });
      await accept(retraction({}));
      expect(await judge(retraction({ id: 'WD-2', retracts: 'WD-1' }))).toMatchObject({ status: 400, fields: ['document.retracts'], message: expect.stringContaining('cannot be withdrawn') });
      expect(await judge(doc({ id: 'WD-1', revision: 2 }))).toMatchObject({ status: 400, fields: ['document.kind'] });
    });

    it('answers 409 to a second retraction and to any new revision of a retracted advisory', async () => {
      expect(await judge(doc({ id: 'ADV-1', revision: 2 }))).toBe('ok');
      await accept(retraction({}));
      expect(await judge(retraction({ id: 'WD-2' }))).toEqual({ status: 409, fields: ['document.retracts'], message: expect.stringContaining('ADV-1 was withdrawn by WD-1 revision 1') });
      expect(await judge(retraction({ revision: 2 }))).toMatchObject({ status: 409, fields: ['document.retracts'] });
      expect(await judge(doc({ id: 'ADV-1', revision: 2 }))).toEqual({ status: 409, fields: ['document.id'], message: expect.stringContaining('takes no new revision') });
    });
  });

  it('keeps drills apart: an id stays a drill or a bulletin, and a drill cannot be retracted', async () => {
    const drill = (fields: Record<string, unknown>): AdvisoryDocument =>
      advisoryDocumentSchema.parse({ id: 'DRILL-1', revision: 1, kind: 'drill', title: 'Drill', summary: 'Rehearsal.', published: at(clock), ...fields });
    await accept(drill({}));
    await accept(doc({ id: 'ADV-1' }));
    expect(await judge(drill({ revision: 2 }))).toBe('ok');
    expect(await judge(doc({ id: 'DRILL-1', revision: 2 }))).toMatchObject({ status: 400, fields: ['document.kind'] });
    expect(await judge(drill({ id: 'ADV-1', revision: 2 }))).toMatchObject({ status: 400, fields: ['document.kind'] });
    expect(await judge(retraction({ retracts: 'DRILL-1' }))).toMatchObject({ status: 400, fields: ['document.retracts'] });
  });

  it('makes a retraction need the signatures of the withdrawn advisory\'s latest revision (two-person rule)', async () => {
    const policy = (s: Severity) => requiredSignatures([{ scope: 'critical', required: 2 }], s);
    const revisions = createRevisionRules({ archive, holds: createHoldStore(dir), signaturesRequired: policy, now: () => new Date(clock) });
    await accept(doc({ id: 'ADV-1', severity: 'critical' }));
    // Downgraded to `none` by a second revision, which itself needed two signatures.
    await accept(doc({ id: 'ADV-1', revision: 2, severity: 'none' }));
    await accept(doc({ id: 'ADV-2', severity: 'low' }));
    expect(await revisions.required('WD-1', 1, 'none', 'ADV-1')).toBe(2);
    expect(await revisions.required('WD-2', 1, 'none', 'ADV-2')).toBe(1);
    expect(await revisions.required('WD-1', 1, 'none')).toBe(1);
  });
});
