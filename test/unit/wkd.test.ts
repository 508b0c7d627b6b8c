import { wkdHash, zBase32 } from '../../src/pgp/wkd';

describe('WKD hash (z-base-32 of the SHA-1 of the lowercased local part)', () => {
  it('matches the example in draft-koch-openpgp-webkey-service', () => {
    expect(wkdHash('Joe.Doe')).toBe('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
  });

  it('encodes z-base-32 most significant bit first', () => {
    expect(zBase32(Uint8Array.from([0]))).toBe('yy');
    expect(zBase32(Uint8Array.from([0xff]))).toBe('9h');
  });
});
