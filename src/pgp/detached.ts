import * as openpgp from 'openpgp';

/** A signature that verified, and the primary key that made it. */
export interface ValidSignature {
  /** Uppercase hex fingerprint of the signer's primary key. */
  fingerprint: string;
  created: Date | null;
}

export interface DetachedVerification {
  valid: ValidSignature[];
  /** Why each signature that did not verify was refused, in input order. */
  problems: string[];
}

/**
 * Verifies detached signatures over exactly `data`. Signatures are checked one at a time so that
 * one malformed block cannot hide a good one, and so the caller learns why each was refused.
 */
export async function verifyDetached(
  data: Uint8Array,
  armoredSignatures: readonly string[],
  keys: readonly openpgp.PublicKey[],
  date: Date = new Date(),
): Promise<DetachedVerification> {
  const valid: ValidSignature[] = [];
  const problems: string[] = [];
  for (const [index, armored] of armoredSignatures.entries()) {
    const where = `signatures[${index}]`;
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature: armored });
    } catch (err) {
      problems.push(`${where}: not an armored OpenPGP signature (${(err as Error).message})`);
      continue;
    }
    const message = await openpgp.createMessage({ binary: data });
    const result = await openpgp.verify({ message, signature, verificationKeys: [...keys], format: 'binary', date });
    for (const sig of result.signatures) {
      const signer = keys.find((k) => k.getKeys(sig.keyID).length > 0);
      if (!signer) {
        problems.push(`${where}: made by key ${sig.keyID.toHex().toUpperCase()}, which is not enrolled`);
        continue;
      }
      try {
        await sig.verified;
        const packet = (await sig.signature).packets[0];
        valid.push({ fingerprint: signer.getFingerprint().toUpperCase(), created: packet?.created ?? null });
      } catch (err) {
        problems.push(`${where}: ${(err as Error).message}`);
      }
    }
  }
  return { valid, problems };
}

/** Makes a detached, armored, binary-mode signature over exactly `data`. */
export async function signDetached(data: Uint8Array, signingKey: openpgp.PrivateKey): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: signingKey, detached: true, format: 'armored' });
}
