import { parseCleartextInput } from '../../src/cli/inputs/webhook-input';

describe('parseCleartextInput', () => {
  const block = [
    '-----BEGIN PGP SIGNED MESSAGE-----',
    'Hash: SHA512',
    '',
    'Advisory: X-1 revision 1',
    '- -----END PGP SIGNATURE-----',
    'more signed text',
    '-----BEGIN PGP SIGNATURE-----',
    '',
    'abc',
    '-----END PGP SIGNATURE-----',
  ].join('\n');

  it('does not end the block at a dash-escaped armor line inside the signed text', () => {
    const found = parseCleartextInput(`copied from chat:\n${block}\ntrailing words`, undefined);
    expect(found).toEqual({ kind: 'cleartext', cleartext: block, form: 'cleartext-signed notice' });
  });

  it('finds nothing in text without a block', () => {
    expect(parseCleartextInput('nothing here -----END PGP SIGNATURE-----', undefined)).toBeNull();
  });
});
