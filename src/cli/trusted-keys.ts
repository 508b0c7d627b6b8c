import type * as openpgp from 'openpgp';
import { followTransition, type TransitionStatement } from '../pgp/key-transition';

/** A key transition statement and its detached signatures, with where it came from for messages. */
export interface TransitionInput {
  statement: string;
  signature: string;
  source: string;
}

export interface TrustedKeys {
  keys: openpgp.PublicKey[];
  /** Statements followed, in the order their new keys became trusted. */
  followed: { statement: TransitionStatement; source: string }[];
  /** Why each statement not followed was refused. */
  refused: string[];
}

/**
 * Extends the keys a recipient trusts along key transition statements: a statement counts only
 * when signed by a key already trusted (its old key) and by the key it introduces. Statements are
 * tried until none makes progress, so a chain of rotations can be given in any order.
 */
export async function followTransitions(trusted: readonly openpgp.PublicKey[], transitions: readonly TransitionInput[]): Promise<TrustedKeys> {
  const keys = [...trusted];
  const followed: TrustedKeys['followed'] = [];
  let pending = [...transitions];
  const reasons = new Map<TransitionInput, string>();
  for (let progress = true; progress && pending.length > 0; ) {
    progress = false;
    for (const t of pending) {
      try {
        const { newKey, statement } = await followTransition(keys, t.statement, t.signature);
        if (!keys.some((k) => k.getFingerprint() === newKey.getFingerprint())) keys.push(newKey);
        followed.push({ statement, source: t.source });
        pending = pending.filter((p) => p !== t);
        progress = true;
      } catch (err) {
        reasons.set(t, (err as Error).message);
      }
    }
  }
  return { keys, followed, refused: pending.map((t) => `${t.source}: ${reasons.get(t) ?? 'not followed'}`) };
}
