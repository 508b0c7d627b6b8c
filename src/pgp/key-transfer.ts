import * as openpgp from 'openpgp';
import type { BroadcasterKey } from './broadcaster-key';
import type { BroadcasterSigner } from './broadcaster-keys';
import type { SignedTransition } from './key-transition';

/**
 * A broadcaster key as plain text, to hand to a worker thread of the same process: OpenPGP key
 * objects do not survive structured cloning. The private key goes decrypted, as the API already
 * holds it in memory; it never leaves the process.
 */
export interface KeyTransfer {
  armoredPrivateKey: string;
  /** As published (with certifications and any revocation), which the private key's own public part is not. */
  armoredPublicKey: string;
  fingerprint: string;
}

/** A {@link BroadcasterSigner} as plain data: the keys that sign now and what notices say about them. */
export interface SignerTransfer {
  key: KeyTransfer;
  /** Armored, decrypted: the current key, then the previous one during a rotation's overlap. */
  signingKeys: string[];
  signerFingerprints: string[];
  transition: SignedTransition | null;
  overlapUntil: Date | null;
}

export function toKeyTransfer(key: BroadcasterKey): KeyTransfer {
  return { armoredPrivateKey: key.privateKey.armor(), armoredPublicKey: key.armoredPublicKey, fingerprint: key.fingerprint };
}

export async function fromKeyTransfer(transfer: KeyTransfer): Promise<BroadcasterKey> {
  const [privateKey, publicKey] = await Promise.all([
    openpgp.readPrivateKey({ armoredKey: transfer.armoredPrivateKey }),
    openpgp.readKey({ armoredKey: transfer.armoredPublicKey }),
  ]);
  return { privateKey, publicKey, armoredPublicKey: transfer.armoredPublicKey, fingerprint: transfer.fingerprint };
}

export function toSignerTransfer(signer: BroadcasterSigner): SignerTransfer {
  return {
    key: toKeyTransfer(signer),
    signingKeys: signer.signingKeys.map((k) => k.armor()),
    signerFingerprints: signer.signerFingerprints,
    transition: signer.transition,
    overlapUntil: signer.overlapUntil,
  };
}

export async function fromSignerTransfer(transfer: SignerTransfer): Promise<BroadcasterSigner> {
  const [key, signingKeys] = await Promise.all([
    fromKeyTransfer(transfer.key),
    Promise.all(transfer.signingKeys.map((armoredKey) => openpgp.readPrivateKey({ armoredKey }))),
  ]);
  return { ...key, signingKeys, signerFingerprints: transfer.signerFingerprints, transition: transfer.transition, overlapUntil: transfer.overlapUntil };
}

