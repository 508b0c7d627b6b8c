import * as openpgp from 'openpgp';
import { wkdHash } from '../../src/pgp/wkd';
import { gpgShowKeys, gpgWkdHash, sqInspect, sqWkdPath } from '../support/gpg-keys';
import { useTocsin } from '../support/use-tocsin';

const EMAIL = 'Security.Team@Tocsin.Example.ORG';

describe('key discovery: the broadcaster key by Web Key Directory, over HTTP from the running service', () => {
  const tocsin = useTocsin(() => ({ workers: false, env: { TOCSIN_KEY_EMAIL: EMAIL } }));
  let armored: string;
  let fingerprint: string;

  beforeAll(async () => {
    const key = await tocsin.call('GET', '/v1/keys/broadcaster.asc');
    armored = key.text;
    fingerprint = key.headers.get('x-tocsin-fingerprint') ?? '';
    expect(fingerprint).toMatch(/^[0-9A-F]{40}$/);
  });

  async function fetchBinary(p: string) {
    const res = await fetch(`${tocsin.url}${p}`);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  it.each(['advanced', 'direct'] as const)('serves the binary key at the %s WKD path that sq computes, with the hash gpg computes', async (method) => {
    // The path comes from Sequoia, the hash check from GnuPG: neither from tocsin's own code.
    const wkdPath = await sqWkdPath(EMAIL, method);
    expect(wkdPath).toContain(`/hu/${await gpgWkdHash(armored, EMAIL)}?l=`);
    const res = await fetchBinary(wkdPath);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/octet-stream/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    // Binary, not armored: an OpenPGP packet header has its top bit set.
    expect(res.body[0]! & 0x80).toBe(0x80);
    expect(res.body.toString('latin1')).not.toContain('BEGIN PGP');

    const parsed = await openpgp.readKey({ binaryKey: res.body });
    expect(parsed.getFingerprint().toUpperCase()).toBe(fingerprint);
    const byGpg = await gpgShowKeys(res.body);
    expect(byGpg.map((k) => k.fingerprint)).toEqual([fingerprint]);
    expect(byGpg[0]!.uids.join()).toContain(EMAIL);
    expect(await sqInspect(res.body)).toContain(`Fingerprint: ${fingerprint}`);

    const policyPath = method === 'advanced' ? `/.well-known/openpgpkey/${EMAIL.split('@')[1]!.toLowerCase()}/policy` : '/.well-known/openpgpkey/policy';
    expect((await fetchBinary(policyPath)).status).toBe(200);
  });

  it('answers 404 for another address, another domain, or a domain policy it does not serve', async () => {
    const domain = 'tocsin.example.org';
    const other = wkdHash('someone.else');
    const own = await gpgWkdHash(armored, EMAIL);
    expect((await fetchBinary(`/.well-known/openpgpkey/hu/${other}`)).status).toBe(404);
    expect((await fetchBinary(`/.well-known/openpgpkey/${domain}/hu/${other}`)).status).toBe(404);
    expect((await fetchBinary(`/.well-known/openpgpkey/other.example.org/hu/${own}`)).status).toBe(404);
    expect((await fetchBinary('/.well-known/openpgpkey/other.example.org/policy')).status).toBe(404);
    // The domain in the advanced path is matched without regard to case, as DNS names are.
    expect((await fetchBinary(`/.well-known/openpgpkey/Tocsin.Example.ORG/hu/${own}`)).status).toBe(200);
  });

  it('serves the same key armored at /v1/keys/broadcaster.asc, and 404 for a transition before any rotation', async () => {
    const byGpg = await gpgShowKeys(armored);
    expect(byGpg.map((k) => k.fingerprint)).toEqual([fingerprint]);
    expect((await tocsin.call('GET', '/v1/keys/transition.json')).status).toBe(404);
    expect((await tocsin.call('GET', '/v1/keys/transition.json.asc')).status).toBe(404);
  });
});
