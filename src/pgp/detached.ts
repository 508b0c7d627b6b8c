import * as openpgp from 'openpgp';

/** A signature that verified, and the primary key that made it. */
export interface ValidSignature {
  /** Uppercase hex fingerprint of the signer's primary key. */
  fingerprint: string;
  created: Date | null;
}

export interface DetachedVerification {
  valid: ValidSignature[];
  /** The text the signatures cover (the input for detached, the signed body for cleartext). */
  text: string;
  /** Why each signature that did not verify was refused, in input order. */
  problems: string[];
}

/**
 * Settles each signature openpgp.js reports: valid, by a key we were not given, or bad. A block
 * that holds no signature packet at all (openpgp.js skips packets it cannot parse) is refused by
 * name too, so that a refusal always says which signature failed.
 */
async function judge(signatures: openpgp.VerifyMessageResult['signatures'], keys: readonly openpgp.PublicKey[]) {
  const valid: ValidSignature[] = [];
  const problems: string[] = [];
  if (signatures.length === 0) problems.push('holds no readable signature packet');
  for (const sig of signatures) {
    const signer = keys.find((k) => k.getKeys(sig.keyID).length > 0);
    if (!signer) {
      problems.push(`made by key ${sig.keyID.toHex().toUpperCase()}, which is not enrolled`);
      continue;
    }
    try {
      await sig.verified;
      const packet = (await sig.signature).packets[0];
      valid.push({ fingerprint: signer.getFingerprint().toUpperCase(), created: packet?.created ?? null });
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { valid, problems };
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
    const checked = await judge(result.signatures, keys);
    valid.push(...checked.valid);
    problems.push(...checked.problems.map((p) => `${where}: ${p}`));
  }
  return { valid, problems, text: Buffer.from(data).toString('utf8') };
}

/**
 * Verifies a cleartext-signed block (`-----BEGIN PGP SIGNED MESSAGE-----`), as a reader copies it
 * from a chat message. OpenPGP's text canonicalisation makes line endings and trailing spaces on
 * each line irrelevant, which is what survives a copy and paste.
 */
export async function verifyCleartext(armored: string, keys: readonly openpgp.PublicKey[], date: Date = new Date()): Promise<DetachedVerification> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  } catch (err) {
    return { valid: [], problems: [`not a cleartext-signed message (${(err as Error).message})`], text: '' };
  }
  const result = await openpgp.verify({ message, verificationKeys: [...keys], date });
  return { ...(await judge(result.signatures, keys)), text: result.data };
}

/**
 * One key, or several (during a key rotation's overlap): several keys make one armored block
 * holding one signature packet each, which gpg and sq check with whichever key they have.
 */
export type SigningKeys = openpgp.PrivateKey | readonly openpgp.PrivateKey[];

const asList = (keys: SigningKeys): openpgp.PrivateKey[] => (Array.isArray(keys) ? [...(keys as readonly openpgp.PrivateKey[])] : [keys as openpgp.PrivateKey]);

/** Makes a cleartext-signed block over `text`, for channels that show text to people. */
export async function signCleartext(text: string, signingKeys: SigningKeys): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  return openpgp.sign({ message, signingKeys: asList(signingKeys), format: 'armored' });
}

/** Makes a detached, armored, binary-mode signature over exactly `data`. */
export async function signDetached(data: Uint8Array, signingKeys: SigningKeys): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: asList(signingKeys), detached: true, format: 'armored' });
}

/** Uppercase fingerprints of the keys that made an armored signature block, in packet order. */
export async function signerFingerprints(armoredSignature: string): Promise<string[]> {
  const signature = await openpgp.readSignature({ armoredSignature });
  return signature.packets.map((p) => (p.issuerFingerprint ? Buffer.from(p.issuerFingerprint).toString('hex').toUpperCase() : p.issuerKeyID.toHex().toUpperCase()));
}
