import * as openpgp from 'openpgp';
import { z } from 'zod';
import { signDetached, verifyDetached } from './detached';

/**
 * A key transition statement: the old broadcaster key names its successor, the successor proves
 * it holds its private key, and both sign the same bytes. A recipient who trusts the old key can
 * therefore trust the new one without any other channel. The new public key travels inside the
 * statement (carrying the old key's certification of its user id), so the statement is enough.
 */
export const transitionSchema = z.object({
  type: z.literal('tocsin-key-transition'),
  old_fingerprint: z.string().regex(/^[0-9A-F]{40}$/),
  new_fingerprint: z.string().regex(/^[0-9A-F]{40}$/),
  created: z.iso.datetime({ offset: true }),
  /** Until then, notices are signed by both keys; afterwards by the new key only. */
  overlap_until: z.iso.datetime({ offset: true }),
  statement: z.string(),
  new_key: z.string().startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'),
});
export type TransitionStatement = z.infer<typeof transitionSchema>;

/** The statement exactly as signed, and its detached signatures (one block, two packets). */
export interface SignedTransition {
  text: string;
  signature: string;
  statement: TransitionStatement;
}

export class TransitionRefusedError extends Error {
  constructor(message: string) {
    super(`key transition refused: ${message}`);
    this.name = 'TransitionRefusedError';
  }
}

/** Writes and signs the statement with both keys. `newKey` must already carry the old key's certification. */
export async function signTransition(
  oldKey: openpgp.PrivateKey,
  newKey: openpgp.PrivateKey,
  created: Date,
  overlapUntil: Date,
): Promise<SignedTransition> {
  const oldFpr = oldKey.getFingerprint().toUpperCase();
  const newFpr = newKey.getFingerprint().toUpperCase();
  const statement: TransitionStatement = {
    type: 'tocsin-key-transition',
    old_fingerprint: oldFpr,
    new_fingerprint: newFpr,
    created: created.toISOString(),
    overlap_until: overlapUntil.toISOString(),
    statement:
      `The tocsin broadcaster key ${oldFpr} is replaced by ${newFpr}. ` +
      `Notices are signed by both keys until ${overlapUntil.toISOString()}, then by ${newFpr} alone.`,
    new_key: newKey.toPublic().armor(),
  };
  const text = `${JSON.stringify(statement, null, 2)}\n`;
  const signature = await signDetached(Buffer.from(text, 'utf8'), [newKey, oldKey]);
  return { text, signature, statement };
}

/** Parses a statement's text; throws {@link TransitionRefusedError} when it is not one. */
export function parseTransition(text: string): TransitionStatement {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TransitionRefusedError(`not JSON (${(err as Error).message})`);
  }
  const parsed = transitionSchema.safeParse(json);
  if (!parsed.success) throw new TransitionRefusedError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * Accepts a transition only when a key the caller already trusts is its old key and signed it,
 * the new key signed it too, and the new key's user id is certified by the old key. Returns the
 * new key, to be trusted from now on.
 */
export async function followTransition(trusted: readonly openpgp.PublicKey[], text: string, signature: string): Promise<{ newKey: openpgp.PublicKey; statement: TransitionStatement }> {
  const statement = parseTransition(text);
  const oldKey = trusted.find((k) => k.getFingerprint().toUpperCase() === statement.old_fingerprint);
  if (!oldKey) throw new TransitionRefusedError(`its old key ${statement.old_fingerprint} is not one you trust`);
  const newKey = await openpgp.readKey({ armoredKey: statement.new_key });
  if (newKey.getFingerprint().toUpperCase() !== statement.new_fingerprint) {
    throw new TransitionRefusedError(`the key it carries is ${newKey.getFingerprint().toUpperCase()}, not ${statement.new_fingerprint}`);
  }
  const checked = await verifyDetached(Buffer.from(text, 'utf8'), [signature], [oldKey, newKey]);
  const signers = new Set(checked.valid.map((v) => v.fingerprint));
  for (const [role, fpr] of [['old', statement.old_fingerprint], ['new', statement.new_fingerprint]] as const) {
    if (!signers.has(fpr)) throw new TransitionRefusedError(`no valid signature by the ${role} key ${fpr} (${checked.problems.join('; ') || 'none found'})`);
  }
  const certifications = await newKey.verifyAllUsers([oldKey]);
  const oldKeyId = oldKey.getKeyID();
  if (!certifications.some((c) => c.valid === true && c.keyID.equals(oldKeyId))) {
    throw new TransitionRefusedError(`the new key's user id is not certified by the old key ${statement.old_fingerprint}`);
  }
  return { newKey, statement };
}
