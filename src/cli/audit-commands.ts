import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadPublisherKeyring } from '../pgp/publisher-keyring';
import { enrolledBy, verifyChain } from '../publishers/audit-chain';
import { auditLogPath } from '../publishers/audit-log';
import { CliFailure } from './commands';

export interface AuditVerifyOptions {
  dataDir: string;
  /** A head hash recorded earlier, out of band: it must still be in the chain. */
  expectHead?: string;
  /** Compare the chain's enrolled set with the key files there (skipped when absent). */
  keysDir: string;
}

/**
 * `tocsin audit verify`: checks the audit log end to end; exits 1 naming the first bad line.
 * Prints the head so that an operator can record it elsewhere and pass it back as `--expect-head`.
 */
export async function auditVerify(options: AuditVerifyOptions): Promise<void> {
  const file = auditLogPath(options.dataDir);
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const verdict = verifyChain(text);
  if (!verdict.ok) throw new CliFailure(`BAD: ${file} line ${verdict.line}: ${verdict.problem}`);
  const { entries } = verdict;
  const head = entries.at(-1);
  if (options.expectHead !== undefined) {
    const expected = options.expectHead.toLowerCase();
    const at = entries.findIndex((e) => e.hash === expected);
    if (at < 0) {
      throw new CliFailure(`BAD: ${file}: the recorded head ${expected} is not in the chain: entries were cut from the end, or the chain was rewritten`);
    }
  }
  const enrolled = enrolledBy(entries);
  const publishersDir = path.join(options.keysDir, 'publishers');
  const keyring = await loadPublisherKeyring(publishersDir);
  const unrecorded = [...keyring.files.keys()].filter((f) => !enrolled.has(f));
  if (unrecorded.length > 0) {
    throw new CliFailure(
      `BAD: ${publishersDir} holds ${unrecorded.join(', ')}, which ${file} does not show enrolled: entries were cut from the end, or a key was placed by hand while tocsin was not running`,
    );
  }
  console.log(`OK: ${entries.length} entries, the chain verifies end to end`);
  console.log(head ? `head: seq ${head.seq} ${head.hash}` : 'head: (empty log)');
  console.log(`enrolled: ${[...enrolled].join(', ') || '(none)'}`);
  const missing = [...enrolled].filter((f) => !keyring.files.has(f));
  if (missing.length > 0) console.log(`note: enrolled in the log but absent from ${publishersDir} (tocsin records them as removed at its next pass): ${missing.join(', ')}`);
}
