import * as openpgp from 'openpgp';
import { wkdAddress } from '../../src/pgp/wkd';
import { gpgWkdHash, sqWkdPath } from '../support/gpg-keys';

// Moved out of test/unit/wkd.test.ts: these run gpg and sq, which the unit tier must not need.
describe('WKD addresses, as gpg and Sequoia compute them', () => {
  it.each(['tocsin@example.org', 'Security.Team@Example.ORG', 'a+tag_9@sub.example.net'])('agrees with gpg --with-wkd-hash and sq wkd for %s', async (email) => {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'wkd', email }], format: 'armored' });
    const address = wkdAddress(email);
    expect(address.hash).toBe(await gpgWkdHash(publicKey, email));
    // sq leaves "+" unescaped in `l=`, so only the path is compared.
    expect((await sqWkdPath(email, 'advanced')).split('?')[0]).toBe(`/.well-known/openpgpkey/${address.domain}/hu/${address.hash}`);
    expect((await sqWkdPath(email, 'direct')).split('?')[0]).toBe(`/.well-known/openpgpkey/hu/${address.hash}`);
  });
});
