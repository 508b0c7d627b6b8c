import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { AdvisoryRecord, AdvisoryRef } from '../advisory/record';
import { RevisionExistsError } from './advisory-archive';
import { createDirOnce, ensureDir, fsyncDir, numberedEntries, readOptional, visibleEntries, writeFileDurable } from './durable-file';

/** What tocsin knows about a submission waiting for more publishers' signatures. */
export interface HoldInfo extends Pick<AdvisoryRecord, 'id' | 'revision' | 'kind' | 'title' | 'severity' | 'sha256' | 'retracts'> {
  received_at: string;
  expires_at: string;
  /** Distinct enrolled publishers needed, under the policy at submission. */
  required: number;
}

/** A signature that verified when it arrived, and whose key made it. */
export interface HeldSignature {
  fingerprint: string;
  signature: string;
  added_at: string;
}

/** How a hold ended: enough signatures arrived (`accepted`), or its time ran out (`expired`). */
export interface HoldOutcome {
  state: 'accepted' | 'expired';
  at: string;
}

export interface HeldSubmission {
  hold: HoldInfo;
  /** The exact text the publishers signed. */
  document: string;
  signatures: HeldSignature[];
  outcome: HoldOutcome | null;
}

/**
 * Held submissions under TOCSIN_DATA_DIR/held/<id>/<revision>/, apart from the archive of
 * accepted advisories: nothing that reads the archive (recovery, the reconciler) can queue them.
 * Created whole or not at all, like an archived revision.
 */
export interface HoldStore {
  create(held: Omit<HeldSubmission, 'outcome'>): Promise<void>;
  get(ref: AdvisoryRef): Promise<HeldSubmission | null>;
  revisions(id: string): Promise<number[]>;
  /** Every hold not yet accepted or expired. */
  open(): Promise<HoldInfo[]>;
  setSignatures(ref: AdvisoryRef, signatures: HeldSignature[]): Promise<void>;
  settle(ref: AdvisoryRef, outcome: HoldOutcome): Promise<void>;
  /**
   * Moves an expired hold out of the way, to `held/<id>/<revision>.expired-<ms>/`, so that its
   * revision number can be held again; its files stay, for the record.
   */
  retire(ref: AdvisoryRef): Promise<void>;
}

const FILES = { hold: 'hold.json', document: 'document.json', signatures: 'signatures.json', outcome: 'outcome.json' };

export function createHoldStore(dataDir: string): HoldStore {
  const root = path.join(dataDir, 'held');
  const dirOf = (ref: AdvisoryRef) => path.join(root, ref.id, String(ref.revision));

  async function get(ref: AdvisoryRef): Promise<HeldSubmission | null> {
    const dir = dirOf(ref);
    const hold = await readOptional(path.join(dir, FILES.hold));
    if (hold === null) return null;
    const [document, signatures, outcome] = await Promise.all([
      readFile(path.join(dir, FILES.document), 'utf8'),
      readFile(path.join(dir, FILES.signatures), 'utf8'),
      readOptional(path.join(dir, FILES.outcome)),
    ]);
    return {
      hold: JSON.parse(hold) as HoldInfo,
      document,
      signatures: JSON.parse(signatures) as HeldSignature[],
      outcome: outcome === null ? null : (JSON.parse(outcome) as HoldOutcome),
    };
  }

  return {
    async create(held) {
      const idDir = path.join(root, held.hold.id);
      // Made or tightened on every write, so an older installation's 0755 directories close too.
      await ensureDir(root);
      await ensureDir(idDir);
      const created = await createDirOnce(dirOf(held.hold), {
        [FILES.document]: held.document,
        [FILES.signatures]: JSON.stringify(held.signatures, null, 2),
        [FILES.hold]: JSON.stringify(held.hold, null, 2),
      });
      if (!created) throw new RevisionExistsError(held.hold);
      await fsyncDir(idDir);
      await fsyncDir(root);
    },

    get,
    revisions: (id) => numberedEntries(path.join(root, id)),

    async open() {
      const ids = await visibleEntries(root);
      const out: HoldInfo[] = [];
      for (const id of ids) {
        for (const revision of await numberedEntries(path.join(root, id))) {
          const held = await get({ id, revision });
          if (held && !held.outcome) out.push(held.hold);
        }
      }
      return out;
    },

    async setSignatures(ref, signatures) {
      await writeFileDurable(path.join(dirOf(ref), FILES.signatures), JSON.stringify(signatures, null, 2));
    },

    async settle(ref, outcome) {
      await writeFileDurable(path.join(dirOf(ref), FILES.outcome), JSON.stringify(outcome));
    },

    async retire(ref) {
      await rename(dirOf(ref), `${dirOf(ref)}.expired-${Date.now()}`);
      await fsyncDir(path.join(root, ref.id));
    },
  };
}
