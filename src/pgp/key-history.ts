import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { broadcasterKeyPaths, type BroadcasterKey } from './broadcaster-key';
import { followTransition } from './key-transition';

/** A key that `tocsin keys rotate` replaced, linked to its successor by a verified transition statement. */
export interface RetiredBroadcasterKey {
  publicKey: openpgp.PublicKey;
  fingerprint: string;
  /** When the rotation made its successor. */
  replacedAt: Date;
  /** When it stopped signing (the overlap's end): nothing it signed later came from tocsin. */
  retiredAt: Date;
  /** The key it certified and named in the statement. */
  successor: string;
  /** Its successors in order, as far as the statements go (the last is the current key when the chain holds). */
  chain: string[];
  /** Every link from it to the current key is a verified statement, and no key on the way is revoked. */
  leadsToCurrent: boolean;
}

/** A broadcaster key whose revocation was published (`tocsin keys revoke`). */
export interface RevokedBroadcasterKey {
  publicKey: openpgp.PublicKey;
  fingerprint: string;
  revokedAt: Date;
  /** The reason the revocation states, in words, with its comment when it has one. */
  reason: string;
  /**
   * The revocation says the key was superseded or retired, not compromised: what it signed before
   * the revocation is still genuine. Any other reason (including none, which is what
   * `tocsin keys init` writes) means nothing it ever signed can be trusted.
   */
  soft: boolean;
}

/** Every broadcaster key an installation has had, as far as its keys directory remembers. */
export interface KeyHistory {
  current: Pick<BroadcasterKey, 'publicKey' | 'fingerprint' | 'armoredPublicKey'>;
  /** Newest first. Keys revoked since are listed under `revoked` only. */
  retired: RetiredBroadcasterKey[];
  revoked: RevokedBroadcasterKey[];
}

/** Where a rotation keeps the key it replaced, and the statement linking it to its successor, for good. */
export function retiredKeyPaths(keysDir: string, fingerprint: string) {
  const dir = path.join(keysDir, 'retired');
  return { dir, publicKey: path.join(dir, `${fingerprint}.asc`), transition: path.join(dir, `${fingerprint}.transition.json`), transitionSignature: path.join(dir, `${fingerprint}.transition.json.asc`) };
}

const REASONS: Record<number, string> = {
  [openpgp.enums.reasonForRevocation.noReason]: 'no reason given',
  [openpgp.enums.reasonForRevocation.keySuperseded]: 'superseded by another key',
  [openpgp.enums.reasonForRevocation.keyCompromised]: 'key compromised',
  [openpgp.enums.reasonForRevocation.keyRetired]: 'key retired, no longer used',
};

/** The revocation of a key that `isRevoked()`, described for a reader. */
export function describeRevocation(key: openpgp.PublicKey): Omit<RevokedBroadcasterKey, 'publicKey' | 'fingerprint'> {
  const first = [...key.revocationSignatures].sort((a, b) => (a.created?.getTime() ?? 0) - (b.created?.getTime() ?? 0))[0];
  const flag = first?.reasonForRevocationFlag ?? openpgp.enums.reasonForRevocation.noReason;
  const words = REASONS[flag] ?? `reason code ${flag}`;
  const comment = first?.reasonForRevocationString?.trim();
  return {
    revokedAt: first?.created ?? new Date(0),
    reason: comment ? `${words}: ${comment}` : words,
    soft: flag === openpgp.enums.reasonForRevocation.keySuperseded || flag === openpgp.enums.reasonForRevocation.keyRetired,
  };
}

interface Link {
  key: openpgp.PublicKey;
  text: string;
  signature: string;
}

async function readLink(keyFile: string, transitionFile: string, signatureFile: string): Promise<Link | null> {
  const [armored, text, signature] = await Promise.all([keyFile, transitionFile, signatureFile].map((f) => readFile(f, 'utf8').catch(() => null)));
  if (armored == null || text == null || signature == null) return null;
  return { key: await openpgp.readKey({ armoredKey: armored }), text, signature };
}

/** `keys/retired/*` (every rotation since they are kept), and the last rotation's `previous.asc` and statement. */
async function readLinks(keysDir: string): Promise<Link[]> {
  const paths = broadcasterKeyPaths(keysDir);
  const { dir } = retiredKeyPaths(keysDir, '');
  const files = await readdir(dir).catch(() => [] as string[]);
  const links: Link[] = [];
  for (const file of files.filter((f) => /^[0-9A-F]{40}\.asc$/.test(f)).sort()) {
    const p = retiredKeyPaths(keysDir, file.slice(0, 40));
    const link = await readLink(p.publicKey, p.transition, p.transitionSignature);
    if (link) links.push(link);
  }
  // Rotations made before keys/retired/ existed left only these.
  const last = await readLink(paths.previousPublicKey, paths.transition, paths.transitionSignature);
  if (last) links.push(last);
  return links;
}

async function readRevoked(keysDir: string, current: openpgp.PublicKey): Promise<RevokedBroadcasterKey[]> {
  const dir = broadcasterKeyPaths(keysDir).revokedDir;
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.asc')).sort();
  const keys = await Promise.all(files.map(async (f) => openpgp.readKey({ armoredKey: await readFile(path.join(dir, f), 'utf8') })));
  const out = new Map<string, RevokedBroadcasterKey>();
  for (const key of [current, ...keys]) {
    const fingerprint = key.getFingerprint().toUpperCase();
    if (out.has(fingerprint) || !(await key.isRevoked())) continue;
    out.set(fingerprint, { publicKey: key, fingerprint, ...describeRevocation(key) });
  }
  return [...out.values()];
}

/**
 * Reads the broadcaster key history from the keys directory: the current key, every key a
 * rotation retired whose transition statement still verifies (signed by it and its successor,
 * the successor certified by it), and every revoked key. A statement that does not verify is left
 * out: the key it names is then not vouched for at all.
 */
export async function readKeyHistory(keysDir: string, current: KeyHistory['current']): Promise<KeyHistory> {
  const revoked = await readRevoked(keysDir, current.publicKey);
  const revokedSet = new Set(revoked.map((r) => r.fingerprint));
  const byFingerprint = new Map<string, Omit<RetiredBroadcasterKey, 'chain' | 'leadsToCurrent'>>();
  for (const link of await readLinks(keysDir)) {
    const fingerprint = link.key.getFingerprint().toUpperCase();
    // A rotation that stopped half-way has not retired the current key yet.
    if (fingerprint === current.fingerprint || byFingerprint.has(fingerprint)) continue;
    const followed = await followTransition([link.key], link.text, link.signature).catch(() => null);
    if (!followed) continue;
    const { statement } = followed;
    byFingerprint.set(fingerprint, {
      publicKey: link.key,
      fingerprint,
      replacedAt: new Date(statement.created),
      retiredAt: new Date(statement.overlap_until),
      successor: statement.new_fingerprint,
    });
  }
  const retired: RetiredBroadcasterKey[] = [];
  for (const key of byFingerprint.values()) {
    if (revokedSet.has(key.fingerprint)) continue;
    const chain = [key.successor];
    for (let next = byFingerprint.get(key.successor)?.successor; next && chain.at(-1) !== current.fingerprint && !chain.includes(next); next = byFingerprint.get(next)?.successor) {
      chain.push(next);
    }
    const leadsToCurrent = chain.at(-1) === current.fingerprint && !chain.some((f) => revokedSet.has(f));
    retired.push({ ...key, chain, leadsToCurrent });
  }
  retired.sort((a, b) => b.replacedAt.getTime() - a.replacedAt.getTime());
  return { current, retired, revoked };
}
