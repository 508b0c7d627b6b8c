import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { signDetached } from '../../src/pgp/detached';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { runCli } from '../support/cli';

/** What a terminal obeys rather than shows: C0 but tab and newline, DEL, C1, separators, bidi controls. */
const OBEYED = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u; // eslint-disable-line no-control-regex

/** The built CLI, as a partner runs it on a notice whose signed title carries terminal controls. */
describe('what `tocsin verify` prints to a terminal', () => {
  it('never passes escape sequences, bidi controls or forged lines from a signed title to the terminal', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-verify-print-'));
    try {
      const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'verify-print@example.org' }], format: 'object' });
      const title = 'Patch now\u001b[2J\u001b]0;pwned\u0007\u009b31m \u202Eexe.txt\nOK: good signature on a forged line';
      const document = documentText(sampleAdvisory({ id: 'PRINT-1', title }));
      const docFile = path.join(dir, 'advisory.json');
      const keyFile = path.join(dir, 'broadcaster.asc');
      await writeFile(docFile, document);
      await writeFile(`${docFile}.asc`, await signDetached(Buffer.from(document), privateKey));
      await writeFile(keyFile, publicKey.armor());

      const result = await runCli(['verify', docFile, '--key', keyFile]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(OBEYED.test(result.stdout)).toBe(false);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines.filter((l) => l.startsWith('OK:'))).toEqual(['OK: good signature on the document with detached signature']);
      expect(lines.at(-1)).toBe('title: Patch now\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m \\u202eexe.txt\\u000aOK: good signature on a forged line');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
