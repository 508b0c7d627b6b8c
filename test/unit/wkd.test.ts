import * as openpgp from 'openpgp';
import { wkdAddress, wkdHash, zBase32 } from '../../src/pgp/wkd';
import { gpgWkdHash, sqWkdPath } from '../support/gpg-keys';

describe('WKD hash (z-base-32 of the SHA-1 of the lowercased local part)', () => {
  it('matches the example in draft-koch-openpgp-webkey-service', () => {
    expect(wkdHash('Joe.Doe')).toBe('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
  });

  it('encodes z-base-32 most significant bit first', () => {
    expect(zBase32(Uint8Array.from([0]))).toBe('yy');
    expect(zBase32(Uint8Array.from([0xff]))).toBe('9h');
  });

  it.each(['tocsin@example.org', 'Security.Team@Example.ORG', 'a+tag_9@sub.example.net'])('agrees with gpg --with-wkd-hash and sq wkd for %s', async (email) => {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'wkd', email }], format: 'armored' });
    const address = wkdAddress(email);
    expect(address.hash).toBe(await gpgWkdHash(publicKey, email));
    // sq leaves "+" unescaped in `l=`, so only the path is compared.
    expect((await sqWkdPath(email, 'advanced')).split('?')[0]).toBe(`/.well-known/openpgpkey/${address.domain}/hu/${address.hash}`);
    expect((await sqWkdPath(email, 'direct')).split('?')[0]).toBe(`/.well-known/openpgpkey/hu/${address.hash}`);
  });
});
