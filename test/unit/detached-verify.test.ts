import * as openpgp from 'openpgp';
import { verifyDetached } from '../../src/pgp/detached';

/**
 * A refusal always says which signature failed and why, even for an armored block that openpgp.js
 * reads without complaint but that holds no signature packet (it skips packets it cannot parse).
 */
describe('verifyDetached', () => {
  it('refuses, by its index, a signature block that holds no signature packet', async () => {
    const { publicKey } = await openpgp.generateKey({ userIDs: [{ email: 'p@example.org' }], format: 'object' });
    // A packet of a tag openpgp.js does not support (60, private/experimental), then a marker packet.
    const bytes = new Uint8Array([0xc0 | 60, 3, 1, 2, 3, 0xc0 | 10, 3, 0x50, 0x47, 0x50]);
    const empty = openpgp.armor(openpgp.enums.armor.signature, bytes);
    const result = await verifyDetached(Buffer.from('document'), [empty], [publicKey]);
    expect(result.valid).toEqual([]);
    expect(result.problems).toEqual([expect.stringMatching(/^signatures\[0\]: /)]);
  });
});
