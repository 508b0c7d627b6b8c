import path from 'node:path';
import { wkdAddress } from '../../src/pgp/wkd';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { gpgShowKeys, sqInspect } from '../support/gpg-keys';
import { useTocsin } from '../support/use-tocsin';

/** Publishing the revocation certificate made at key creation, with one command, under a running API. */
describe('broadcaster key revocation', () => {
  const publisher = useGpgPublisher('revocation@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false }));
  let cliEnv: Record<string, string>;

  beforeAll(() => {
    cliEnv = { TOCSIN_KEYS_DIR: path.join(tocsin.root, 'keys') };
  });

  const submit = async (id: string) => {
    const document = documentText(sampleAdvisory({ id }));
    return tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
  };
  const wkd = async () => {
    const res = await fetch(`${tocsin.url}/.well-known/openpgpkey/hu/${wkdAddress(tocsin.config.keyEmail).hash}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  it('serves the revoked key, stops signing and goes not-ready; a new key restores service while WKD keeps the revoked one', async () => {
    const revokedFpr = tocsin.api.broadcaster.fingerprint;
    expect((await submit(uniqueId('BEFORE'))).status).toBe(202);

    const wrongCert = await runCli(['keys', 'revoke', '--cert', path.join(tocsin.root, 'no-such-file.asc')], cliEnv);
    expect(wrongCert.code).toBe(2);
    expect(wrongCert.stderr).toMatch(/no revocation certificate/);

    const revoked = await runCli(['keys', 'revoke'], cliEnv);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked:     ${revokedFpr}`);

    // gpg and sq both read the served key as revoked, at the armored URL and by WKD.
    const served = await tocsin.call('GET', '/v1/keys/broadcaster.asc');
    expect(await gpgShowKeys(served.text)).toEqual([expect.objectContaining({ fingerprint: revokedFpr, validity: 'r' })]);
    expect(await sqInspect(served.text)).toMatch(new RegExp(`Fingerprint: ${revokedFpr}\\s+Revoked:`));
    expect(await gpgShowKeys(await wkd())).toEqual([expect.objectContaining({ fingerprint: revokedFpr, validity: 'r' })]);

    const ready = await tocsin.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.problems.broadcaster_key).toMatch(/revoked/);

    // Nothing is accepted (or archived) that tocsin cannot sign.
    const refusedId = uniqueId('REVOKED');
    const refused = await submit(refusedId);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('signing_unavailable');
    expect((await tocsin.call('GET', `/v1/advisories/${refusedId}`)).status).toBe(404);

    // A revoked key cannot vouch for a successor.
    const rotate = await runCli(['keys', 'rotate'], cliEnv);
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toMatch(/revoked/);

    const fresh = await runCli(['keys', 'init', '--force'], cliEnv);
    expect(fresh.code).toBe(0);
    const newFpr = /fingerprint: ([0-9A-F]{40})/.exec(fresh.stdout)?.[1];
    expect(newFpr).toBeDefined();
    expect(newFpr).not.toBe(revokedFpr);
    expect((await tocsin.call('GET', '/v1/keys/broadcaster.asc')).headers.get('x-tocsin-fingerprint')).toBe(newFpr);
    expect((await tocsin.call('GET', '/readyz')).status).toBe(200);
    expect((await submit(uniqueId('AFTER'))).status).toBe(202);
    // WKD clients refreshing the old key still learn it is revoked.
    const listed = await gpgShowKeys(await wkd());
    expect(listed).toEqual([expect.objectContaining({ fingerprint: newFpr }), expect.objectContaining({ fingerprint: revokedFpr, validity: 'r' })]);
    expect(listed[0]!.validity).not.toBe('r');
  });
});
