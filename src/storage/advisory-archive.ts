import { link, readFile, rm, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AdvisoryRecord, AdvisoryRef, ArchivedAdvisory } from '../advisory/record';
import { createDirOnce, ensureDir, fsyncDir, numberedEntries, readOptional, visibleEntries, writeFileDurable, writeSynced, PRIVATE_FILE_MODE } from './durable-file';

/** The recipients an advisory revision was accepted for, per channel. */
export type Audience = Record<string, string[]>;

/**
 * The end of a revision's embargo, as it happened: when, and whom it added (everyone meant for
 * the revision who was not told under the embargo). Written once; its presence is what keeps a
 * restart or a second API process from releasing the revision twice.
 */
export interface ReleaseRecord {
  at: string;
  audience: Audience;
}

export class RevisionExistsError extends Error {
  constructor(readonly ref: AdvisoryRef) {
    super(`${ref.id} revision ${ref.revision} is already archived`);
    this.name = 'RevisionExistsError';
  }
}

/**
 * The durable archive under TOCSIN_DATA_DIR/advisories/<id>/<revision>/. A revision directory is
 * built under a temporary name, every file fsynced, then renamed into place: it exists whole or
 * not at all, and the rename is also the lock that keeps two writers from claiming one revision.
 */
export interface AdvisoryArchive {
  store(entry: ArchivedAdvisory, audience: Audience): Promise<void>;
  get(ref: AdvisoryRef): Promise<ArchivedAdvisory | null>;
  /** Every recipient the revision was sent to: those chosen at acceptance, then those its release added. */
  audience(ref: AdvisoryRef): Promise<Audience>;
  /** Only those chosen at acceptance (audience.json): under an embargo, the embargo's audience. */
  acceptedAudience(ref: AdvisoryRef): Promise<Audience>;
  /** Records a revision's release durably, once: false (nothing written) when it was released before. */
  release(ref: AdvisoryRef, release: ReleaseRecord): Promise<boolean>;
  /** The revision's release, or null while it has none. */
  releaseOf(ref: AdvisoryRef): Promise<ReleaseRecord | null>;
  /** Records durably that `id` was withdrawn by `retraction` (idempotent: the first one stays). */
  markRetracted(id: string, retraction: AdvisoryRef): Promise<void>;
  /** The retraction that withdrew `id`, or null: a retracted advisory takes no new revision. */
  retractionOf(id: string): Promise<AdvisoryRef | null>;
  revisions(id: string): Promise<number[]>;
  /** Every id with at least one archived revision, in no particular order. */
  ids(): Promise<string[]>;
  /** Every archived revision's record, oldest acceptance first. */
  records(): Promise<AdvisoryRecord[]>;
  /** Writes a small marker file in a revision's directory (e.g. that delivery finished). */
  mark(ref: AdvisoryRef, name: string, content: object): Promise<void>;
  hasMark(ref: AdvisoryRef, name: string): Promise<boolean>;
  /** A marker's content, or null when there is none. */
  readMark(ref: AdvisoryRef, name: string): Promise<unknown>;
  /** Removes a marker durably (the directory is fsynced); no error when there was none. */
  unmark(ref: AdvisoryRef, name: string): Promise<void>;
}

/** The file whose presence says a revision directory is complete. */
export const RECORD_FILE = 'record.json';

const FILES = {
  record: RECORD_FILE,
  document: 'document.json',
  publisherSignatures: 'publisher-signatures.json',
  broadcasterSignature: 'broadcaster.asc',
  audience: 'audience.json',
  release: 'released.json',
};

/** In an id's directory, beside its revisions: which retraction withdrew it. */
const RETRACTED_FILE = 'retracted.json';

function mergeAudiences(a: Audience, b: Audience): Audience {
  const out: Audience = {};
  for (const channel of new Set([...Object.keys(a), ...Object.keys(b)])) out[channel] = [...new Set([...(a[channel] ?? []), ...(b[channel] ?? [])])].sort();
  return out;
}

/**
 * Writes `file` durably unless it exists: the content is synced under a hidden name, then
 * hard-linked into place, which fails when the name is taken. False when it was.
 */
async function createFileOnce(file: string, content: string): Promise<boolean> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeSynced(tmp, content, PRIVATE_FILE_MODE);
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  await fsyncDir(path.dirname(file));
  return true;
}

/** A revision's directory: its files, its marks and its delivery receipts (see receipt-log.ts). */
export const revisionDir = (dataDir: string, ref: AdvisoryRef) => path.join(dataDir, 'advisories', ref.id, String(ref.revision));

export function createAdvisoryArchive(dataDir: string): AdvisoryArchive {
  const root = path.join(dataDir, 'advisories');
  const dirOf = (ref: AdvisoryRef) => revisionDir(dataDir, ref);

  const revisions = (id: string) => numberedEntries(path.join(root, id));

  async function acceptedAudience(ref: AdvisoryRef): Promise<Audience> {
    const raw = await readOptional(path.join(dirOf(ref), FILES.audience));
    return raw === null ? {} : (JSON.parse(raw) as Audience);
  }

  async function releaseOf(ref: AdvisoryRef): Promise<ReleaseRecord | null> {
    const raw = await readOptional(path.join(dirOf(ref), FILES.release));
    return raw === null ? null : (JSON.parse(raw) as ReleaseRecord);
  }

  return {
    async store(entry, audience) {
      const idDir = path.join(root, entry.record.id);
      const idDirIsNew = (await revisions(entry.record.id)).length === 0;
      // Made or tightened on every write, so an older installation's 0755 directories close too.
      await ensureDir(root);
      await ensureDir(idDir);
      const created = await createDirOnce(dirOf(entry.record), {
        [FILES.document]: entry.document,
        [FILES.publisherSignatures]: JSON.stringify(entry.publisherSignatures, null, 2),
        [FILES.broadcasterSignature]: entry.broadcasterSignature,
        [FILES.audience]: JSON.stringify(audience),
        // Last, so that a revision directory with a record is complete.
        [FILES.record]: JSON.stringify(entry.record, null, 2),
      });
      if (!created) throw new RevisionExistsError(entry.record);
      await fsyncDir(idDir);
      if (idDirIsNew) await fsyncDir(root);
    },

    async get(ref) {
      const dir = dirOf(ref);
      const record = await readOptional(path.join(dir, FILES.record));
      if (record === null) return null;
      const [document, signatures, broadcasterSignature] = await Promise.all([
        readFile(path.join(dir, FILES.document), 'utf8'),
        readFile(path.join(dir, FILES.publisherSignatures), 'utf8'),
        readFile(path.join(dir, FILES.broadcasterSignature), 'utf8'),
      ]);
      return {
        record: JSON.parse(record) as AdvisoryRecord,
        document,
        publisherSignatures: JSON.parse(signatures) as string[],
        broadcasterSignature,
      };
    },

    async audience(ref) {
      const accepted = await acceptedAudience(ref);
      const released = await releaseOf(ref);
      return released ? mergeAudiences(accepted, released.audience) : accepted;
    },

    acceptedAudience,

    async release(ref, release) {
      return createFileOnce(path.join(dirOf(ref), FILES.release), JSON.stringify(release));
    },

    releaseOf,

    async markRetracted(id, retraction) {
      await ensureDir(path.join(root, id));
      await createFileOnce(path.join(root, id, RETRACTED_FILE), JSON.stringify({ id: retraction.id, revision: retraction.revision }));
    },

    async retractionOf(id) {
      const raw = await readOptional(path.join(root, id, RETRACTED_FILE));
      return raw === null ? null : (JSON.parse(raw) as AdvisoryRef);
    },

    revisions,

    async ids() {
      const out: string[] = [];
      for (const id of await visibleEntries(root)) if ((await revisions(id)).length > 0) out.push(id);
      return out;
    },

    async records() {
      const ids = await visibleEntries(root);
      const out: AdvisoryRecord[] = [];
      for (const id of ids) {
        for (const revision of await revisions(id)) {
          const raw = await readOptional(path.join(dirOf({ id, revision }), FILES.record));
          if (raw !== null) out.push(JSON.parse(raw) as AdvisoryRecord);
        }
      }
      return out.sort((a, b) => a.accepted_at.localeCompare(b.accepted_at));
    },

    async mark(ref, name, content) {
      await writeFileDurable(path.join(dirOf(ref), `${name}.json`), JSON.stringify(content));
    },

    async hasMark(ref, name) {
      return (await readOptional(path.join(dirOf(ref), `${name}.json`))) !== null;
    },

    async readMark(ref, name) {
      const raw = await readOptional(path.join(dirOf(ref), `${name}.json`));
      return raw === null ? null : (JSON.parse(raw) as unknown);
    },

    async unmark(ref, name) {
      try {
        await unlink(path.join(dirOf(ref), `${name}.json`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      await fsyncDir(dirOf(ref));
    },
  };
}
