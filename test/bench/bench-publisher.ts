import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { signDetached } from '../../src/pgp/detached';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';

export interface BenchPublisher {
  armoredPublicKey: string;
  /** A detached armored signature over exactly `text`'s UTF-8 bytes. */
  sign(text: string): Promise<string>;
}

/** An ed25519 publisher key made in-process: no gpg needed to run the bench. */
export async function createBenchPublisher(): Promise<BenchPublisher> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'bench', email: 'bench@example.org' }],
    format: 'armored',
  });
  const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return {
    armoredPublicKey: publicKey,
    sign: (text) => signDetached(Buffer.from(text, 'utf8'), key),
  };
}

/** A fresh id per run: the archive would answer a repeated one as a duplicate, sending nothing. */
export function benchAdvisoryId(): string {
  return `BENCH-${randomBytes(6).toString('hex')}`;
}

/** The signed text of a typical critical advisory. */
export function benchAdvisoryText(id: string): string {
  return documentText(
    sampleAdvisory({
      id,
      title: 'Benchmark advisory: remote code execution in acme-server',
      published: `${new Date().toISOString().slice(0, 19)}Z`,
      cves: ['CVE-2026-12345'],
      references: ['https://example.org/a'],
    }),
  );
}
