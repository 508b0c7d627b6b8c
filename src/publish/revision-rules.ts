import type { Severity } from '../advisory/schema';
import { csafFileName } from '../mirror/site-paths';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import type { HeldSubmission, HoldStore } from '../storage/hold-store';
import { AdvisoryIdCollisionError, RevisionConflictError } from './intake-errors';
import { requiredForRevision } from './signature-policy';

export interface RevisionRulesDeps {
  archive: Pick<AdvisoryArchive, 'ids' | 'revisions' | 'get'>;
  holds: Pick<HoldStore, 'open' | 'revisions' | 'get'>;
  /** Distinct enrolled publishers an advisory of this severity needs (the policy in force now). */
  signaturesRequired: (severity: Severity) => number;
  now: () => Date;
}

/**
 * What an id's history allows next, read from the archive and the holds. Each rule closes a way
 * for one publisher to take an advisory over: revisions go up by exactly one (no jumping to
 * revision 1,000,000 so that nobody can ever correct it), one revision waits for signatures at a
 * time, a revision needs at least the signatures its accepted predecessors needed, and no two ids
 * share a CSAF file name. The caller holds the id's lock.
 */
export function createRevisionRules(deps: RevisionRulesDeps) {
  const open = (held: HeldSubmission): boolean => !held.outcome && Date.parse(held.hold.expires_at) > deps.now().getTime();

  async function latestAccepted(id: string): Promise<number> {
    return (await deps.archive.revisions(id)).at(-1) ?? 0;
  }

  /** The revision of `id` that still waits for signatures, if one does (at most one can). */
  async function openHold(id: string): Promise<HeldSubmission | null> {
    for (const revision of (await deps.holds.revisions(id)).reverse()) {
      const held = await deps.holds.get({ id, revision });
      if (held && open(held)) return held;
    }
    return null;
  }

  return {
    latestAccepted,
    openHold,

    /**
     * Refuses a new revision that is not the latest accepted plus one (the first is 1), or any
     * other revision while one waits for signatures: that one must be signed or expire first.
     */
    async checkNext(id: string, revision: number, waiting: HeldSubmission | null): Promise<void> {
      const latest = await latestAccepted(id);
      if (waiting && waiting.hold.revision !== revision) {
        const held = waiting.hold.revision;
        throw new RevisionConflictError(
          `${id} revision ${held} is waiting for signatures until ${waiting.hold.expires_at}: sign that one, or submit revision ${revision} after it is accepted or has expired`,
          latest,
          held,
        );
      }
      if (revision !== latest + 1) {
        const what = latest === 0 ? `the first revision of ${id} must be 1` : `the next revision of ${id} must be ${latest + 1}, one more than the latest accepted`;
        throw new RevisionConflictError(`${what}, not ${revision}`, latest);
      }
    },

    /**
     * Signatures the revision needs: its own severity's, and at least each earlier accepted
     * revision's. A retraction (`retracts` given) needs at least what every accepted revision of
     * the advisory it withdraws needed, so that one publisher cannot withdraw what two published.
     */
    async required(id: string, revision: number, severity: Severity, retracts?: string): Promise<number> {
      const earlier: Severity[] = [];
      const severities = async (of: string, below: number) => {
        for (const r of await deps.archive.revisions(of)) {
          if (r >= below) continue;
          const archived = await deps.archive.get({ id: of, revision: r });
          if (archived) earlier.push(archived.record.severity);
        }
      };
      await severities(id, revision);
      if (retracts !== undefined) await severities(retracts, Infinity);
      return requiredForRevision(deps.signaturesRequired, severity, earlier);
    },

    /** Refuses a new id whose CSAF file name an accepted or waiting advisory of another id already has. */
    async checkCsafName(id: string): Promise<void> {
      const name = csafFileName(id);
      const taken = [...(await deps.archive.ids()), ...(await deps.holds.open()).filter((h) => Date.parse(h.expires_at) > deps.now().getTime()).map((h) => h.id)];
      const other = taken.find((t) => t !== id && csafFileName(t) === name);
      if (other !== undefined) throw new AdvisoryIdCollisionError(id, other, name);
    },
  };
}

export type RevisionRules = ReturnType<typeof createRevisionRules>;
