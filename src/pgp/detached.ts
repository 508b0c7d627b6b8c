import * as openpgp from 'openpgp';
import { packetSpans } from './packet-framing';

/** A signature that verified, and the primary key that made it. */
export interface ValidSignature {
  /** Uppercase hex fingerprint of the signer's primary key. */
  fingerprint: string;
  created: Date | null;
  /** Uppercase hex key id of the key or subkey that made the signature. */
  keyID: string;
  /**
   * Detached signatures only: the armored block to keep as this signer's. The block as given when
   * every packet in it verified; otherwise a block of just the packets that did, so that a packet
   * that did not verify is never archived or republished beside a good one.
   */
  kept?: string;
}

export interface DetachedVerification {
  valid: ValidSignature[];
  /** The text the signatures cover (the input for detached, the signed body for cleartext). */
  text: string;
  /** Why each signature that did not verify was refused, in input order. */
  problems: string[];
}

/**
 * The most packets one armored signature block may hold: one per signing key, and a signer has
 * few (tocsin itself signs with two during a key rotation's overlap). Every signature packet
 * costs a verification, so a block of thousands of copies of one real packet would cost seconds
 * of CPU before its refusal; such a block is refused from its packet headers, unverified.
 */
export const MAX_PACKETS_PER_BLOCK = 4;

/** OpenPGP's signature type 0x01: over the text with its line endings made CRLF, not over the exact bytes. */
const TEXT_MODE = 0x01;

/**
 * How a signature is judged beyond "it verifies with one of the keys". The defaults suit a reader
 * checking tocsin's own notices: a signature is judged by its key as it was when it signed.
 */
export interface VerifyRules {
  /** Tocsin's clock. Default: the system clock at the call. */
  now?: Date;
  /** How far past `now` a signature may be dated, for a signer whose clock runs fast. Default 0. */
  skewMs?: number;
  /** Refuse text-mode (0x01) signatures, which also verify over other bytes (CRLF for LF). Default false. */
  binaryOnly?: boolean;
  /** Also require the key or subkey that signed to be valid at `now`, not only when it signed. Default false. */
  signingKeyValidNow?: boolean;
}

/** A problem with a signature block's form, found from its packet headers alone; null when none. */
function formProblem(bytes: Uint8Array, binaryOnly: boolean): string | null {
  const spans = packetSpans(bytes);
  // Broken framing: openpgp.js's full read names what is wrong, and it reads at most this block.
  if (typeof spans === 'string') return null;
  if (spans.length > MAX_PACKETS_PER_BLOCK) return `holds ${spans.length} packets: a signature block may hold at most ${MAX_PACKETS_PER_BLOCK} (one per signing key)`;
  for (const [i, span] of spans.entries()) {
    if (spans.slice(0, i).some((s) => Buffer.from(s.body).equals(span.body))) return `holds the same packet twice (packets ${spans.findIndex((s) => Buffer.from(s.body).equals(span.body)) + 1} and ${i + 1})`;
    if (binaryOnly && span.tag === openpgp.enums.packet.signature && signatureType(span.body) === TEXT_MODE) {
      return 'is a text-mode (0x01) signature: sign in binary mode (gpg --detach-sign, not --textmode or --clearsign)';
    }
  }
  return null;
}

/** A signature packet's type: its second byte from version 4 on, its third in version 3. */
const signatureType = (body: Uint8Array): number | undefined => (body[0] === 3 ? body[2] : body[1]);

/** The packets of an armored block, or null when it is not armor (the full read says why). */
async function unarmored(armored: string): Promise<Uint8Array | null> {
  try {
    const { data } = await openpgp.unarmor(armored);
    return data instanceof Uint8Array ? data : null;
  } catch {
    return null;
  }
}

/**
 * Checks the form of each armored signature block from its packet headers, verifying nothing:
 * at most {@link MAX_PACKETS_PER_BLOCK} packets, no packet twice (in one block or across the
 * blocks), and, with `binaryOnly`, no text-mode signature. Each problem names its block.
 */
export async function signatureFormProblems(armoredSignatures: readonly string[], rules: Pick<VerifyRules, 'binaryOnly'> = {}): Promise<{ field: string; message: string }[]> {
  const problems: { field: string; message: string }[] = [];
  const seen = new Map<string, number>();
  for (const [index, armored] of armoredSignatures.entries()) {
    const field = `signatures[${index}]`;
    const bytes = await unarmored(armored);
    if (!bytes) continue;
    const problem = formProblem(bytes, rules.binaryOnly ?? false);
    if (problem) {
      problems.push({ field, message: problem });
      continue;
    }
    const spans = packetSpans(bytes);
    for (const span of typeof spans === 'string' ? [] : spans) {
      const key = Buffer.from(span.body).toString('base64');
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        problems.push({ field, message: `repeats a packet of signatures[${earlier}]: send each signature once` });
        break;
      }
      seen.set(key, index);
    }
  }
  return problems;
}

/** Verifies one signature packet with one key, as of `date`; throws why it does not verify. */
type PacketCheck = (packet: openpgp.SignaturePacket, key: openpgp.PublicKey, date: Date) => Promise<void>;

/** A signature of these packets alone. */
const signatureOf = (packets: readonly openpgp.SignaturePacket[]) => {
  const list = new openpgp.PacketList<openpgp.SignaturePacket>();
  list.push(...packets);
  return new openpgp.Signature(list);
};


async function checkWith(message: openpgp.Message<Uint8Array | string>, packet: openpgp.SignaturePacket, key: openpgp.PublicKey, date: Date, format: 'binary' | 'utf8') {
  const result = await openpgp.verify({ message, signature: signatureOf([packet]), verificationKeys: [key], date, format });
  const [sig] = result.signatures;
  if (!sig) throw new Error(`is a signature of type 0x${(packet.signatureType ?? 0).toString(16).padStart(2, '0')}, not one over a document`);
  await sig.verified;
}

/**
 * Settles each signature packet of a block: valid, by a key we were not given, or bad. Every key
 * holding the packet's issuer key id is tried, not only the first: a key id is 64 bits that
 * anyone can copy into a key of their own, and the first match must not hide the real signer.
 * A block that holds no signature packet at all (openpgp.js skips packets it cannot parse) is
 * refused by name too, so that a refusal always says which signature failed.
 */
async function judge(packets: readonly openpgp.SignaturePacket[], keys: readonly openpgp.PublicKey[], check: PacketCheck, rules: VerifyRules) {
  const valid: ValidSignature[] = [];
  const validPackets: openpgp.SignaturePacket[] = [];
  const problems: string[] = [];
  if (packets.length === 0) problems.push('holds no readable signature packet');
  const now = rules.now ?? new Date();
  const latest = new Date(now.getTime() + (rules.skewMs ?? 0));
  for (const packet of packets) {
    const keyID = packet.issuerKeyID;
    const candidates = keys.filter((k) => k.getKeys(keyID).length > 0);
    if (candidates.length === 0) {
      problems.push(`made by key ${keyID.toHex().toUpperCase()}, which is not enrolled`);
      continue;
    }
    if (packet.created && packet.created > latest) {
      problems.push(
        `is dated ${packet.created.toISOString()}, more than ${Math.round((rules.skewMs ?? 0) / 1000)} s after tocsin's clock (${now.toISOString()}): check the signing machine's clock and sign again`,
      );
      continue;
    }
    // A signature dated within the skew ahead of now may come from a key made as far ahead.
    const validAt = packet.created && packet.created > now ? packet.created : now;
    const outcome = await firstValid(packet, candidates, check, latest, rules.signingKeyValidNow ? validAt : null);
    if (typeof outcome === 'string') problems.push(outcome);
    else {
      valid.push(outcome);
      validPackets.push(packet);
    }
  }
  return { valid, problems, validPackets };
}

/** The first candidate key the packet verifies with; else the most telling reason. */
async function firstValid(packet: openpgp.SignaturePacket, candidates: readonly openpgp.PublicKey[], check: PacketCheck, date: Date, validAt: Date | null): Promise<ValidSignature | string> {
  const keyID = packet.issuerKeyID;
  let why = '';
  let verifiedOnce = false;
  for (const key of candidates) {
    try {
      await check(packet, key, date);
    } catch (err) {
      if (!verifiedOnce) why = (err as Error).message;
      continue;
    }
    const unusable = validAt ? await signingKeyUnusable(key, keyID, validAt) : null;
    if (unusable === null) return { fingerprint: key.getFingerprint().toUpperCase(), created: packet.created, keyID: keyID.toHex().toUpperCase() };
    // A signature that verifies but whose key may not sign now says more than a mismatch by another candidate.
    verifiedOnce = true;
    why = unusable;
  }
  return why;
}

/**
 * Why the key or subkey `keyID` of `key` may not sign at `date` (revoked, also "softly" as
 * superseded or retired; expired; its binding broken), or null when it may. openpgp.js judges a
 * signature by its key as it was when it signed, so a backdated signature by a retired subkey
 * would otherwise still count.
 */
async function signingKeyUnusable(key: openpgp.PublicKey, keyID: openpgp.KeyID, date: Date): Promise<string | null> {
  try {
    await key.getSigningKey(keyID, date);
    return null;
  } catch (err) {
    const which = key.getKeyID().equals(keyID) ? 'the primary key' : `signing subkey ${keyID.toHex().toUpperCase()}`;
    return `made by ${which} of publisher ${key.getFingerprint().toUpperCase()}, which may not sign now (${(err as Error).message})`;
  }
}

/**
 * Verifies detached signatures over exactly `data`. Signatures are checked one at a time so that
 * one malformed block cannot hide a good one, and so the caller learns why each was refused.
 */
export async function verifyDetached(data: Uint8Array, armoredSignatures: readonly string[], keys: readonly openpgp.PublicKey[], rules: VerifyRules = {}): Promise<DetachedVerification> {
  const valid: ValidSignature[] = [];
  const problems: string[] = [];
  const check: PacketCheck = async (packet, key, date) => checkWith(await openpgp.createMessage({ binary: data }), packet, key, date, 'binary');
  for (const [index, armored] of armoredSignatures.entries()) {
    const where = `signatures[${index}]`;
    const bytes = await unarmored(armored);
    const form = bytes && formProblem(bytes, rules.binaryOnly ?? false);
    if (form) {
      problems.push(`${where}: ${form}`);
      continue;
    }
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature: armored });
    } catch (err) {
      problems.push(`${where}: not an armored OpenPGP signature (${(err as Error).message})`);
      continue;
    }
    const checked = await judge(signature.packets, keys, check, rules);
    const kept = checked.problems.length === 0 ? armored : signatureOf(checked.validPackets).armor();
    valid.push(...checked.valid.map((v) => ({ ...v, kept })));
    problems.push(...checked.problems.map((p) => `${where}: ${p}`));
  }
  return { valid, problems, text: Buffer.from(data).toString('utf8') };
}

/**
 * Verifies a cleartext-signed block (`-----BEGIN PGP SIGNED MESSAGE-----`), as a reader copies it
 * from a chat message. OpenPGP's text canonicalisation makes line endings and trailing spaces on
 * each line irrelevant, which is what survives a copy and paste (text mode is its nature).
 */
export async function verifyCleartext(armored: string, keys: readonly openpgp.PublicKey[], rules: Omit<VerifyRules, 'binaryOnly'> = {}): Promise<DetachedVerification> {
  const at = armored.lastIndexOf('-----BEGIN PGP SIGNATURE-----');
  const bytes = at >= 0 ? await unarmored(armored.slice(at)) : null;
  const form = bytes && formProblem(bytes, false);
  if (form) return { valid: [], problems: [`its signature ${form}`], text: '' };
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  } catch (err) {
    return { valid: [], problems: [`not a cleartext-signed message (${(err as Error).message})`], text: '' };
  }
  const text = message.getText();
  // The signed bytes as a cleartext signature covers them: its text with CRLF line endings.
  const check: PacketCheck = async (packet, key, date) => checkWith(await openpgp.createMessage({ text: text.replace(/\n/g, '\r\n') }), packet, key, date, 'utf8');
  const packets = (message as unknown as { signature: openpgp.Signature }).signature.packets.filter((p) => p instanceof openpgp.SignaturePacket);
  return { ...(await judge(packets, keys, check, rules)), text };
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
