import { readKeyHistory } from '../../src/pgp/key-history';
import { documentText, sampleAdvisory, uniqueId } from './advisory-fixture';
import type { GpgPublisher } from './gpg';
import type { Tocsin } from './tocsin-harness';

/**
 * Publishes a small, varied archive through the running API, as a security team would: one
 * advisory with a correction (revision 2), one signed by two publishers with a purl, a fixed
 * version and a CVSS vector, and a mitigation note for the first.
 */
export async function publishSampleArchive(tocsin: Tocsin, lead: GpgPublisher, second: GpgPublisher) {
  const first = uniqueId('ACME');
  const second_ = uniqueId('Acme.Lib');
  const note = uniqueId('ACME-NOTE');
  const submit = async (doc: Record<string, unknown>, signers: GpgPublisher[]) => {
    const document = documentText(doc);
    const signatures = await Promise.all(signers.map((s) => s.sign(document)));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures });
    if (answer.status !== 202) throw new Error(`publishing ${String(doc.id)}: ${answer.status} ${answer.text}`);
    return { document, signatures };
  };
  await submit(sampleAdvisory({ id: first, published: '2026-11-24T13:00:00+01:00' }), [lead]);
  await submit(
    sampleAdvisory({
      id: second_,
      severity: 'high',
      title: 'Path traversal in <acme-lib> & friends',
      summary: 'A crafted path escapes the upload directory.\nSecond line with "quotes".',
      affected: [
        { product: 'acme-lib', versions: '>=1.0.0 <1.4.2', purl: 'pkg:npm/%40acme/lib', fixed: '1.4.2' },
        { product: 'acme-cli', versions: 'all 2.x releases' },
      ],
      cves: ['CVE-2026-22222', 'CVE-2026-22223'],
      cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N',
      references: [],
    }),
    [lead, second],
  );
  await submit(sampleAdvisory({ id: first, revision: 2, title: 'Remote code execution in acme-server (corrected)', mitigations: [{ text: 'Upgrade to 2.3.1.' }] }), [lead]);
  await submit(
    sampleAdvisory({ id: note, kind: 'mitigation', mitigates: first, severity: 'medium', title: 'Mitigation for the plugin loader issue', cves: [], cvss: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }),
    [second],
  );
  return { first, second: second_, note };
}

/** What a mirror build of this tocsin signs with and knows, read as the API and the CLI read it. */
export async function mirrorKeys(tocsin: Tocsin) {
  const broadcaster = tocsin.api.broadcaster;
  return { broadcaster, keyHistory: await readKeyHistory(tocsin.config.keysDir, broadcaster) };
}
