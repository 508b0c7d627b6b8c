import { isForbiddenAddress } from '../../src/net/address-policy';

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.0.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '64:ff9b::a00:1', '2002:c0a8:0101::1', '[::1]', 'fe80::1%eth0',
    'not-an-ip',
  ])('forbids %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.215.14', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  describe('IPv6 forms that carry or reach an IPv4 address', () => {
    it.each([
      // IPv4-mapped, written out in full or in upper case: judged by the IPv4 address.
      ['mapped, uncompressed', '0:0:0:0:0:ffff:7f00:1'],
      ['mapped, upper case', '::FFFF:A9FE:A9FE'],
      // SIIT IPv4-translated ::ffff:0:a.b.c.d: refused whole, whatever it embeds.
      ['SIIT translated, loopback', '::ffff:0:127.0.0.1'],
      ['SIIT translated, hex', '::ffff:0:7f00:1'],
      ['SIIT translated, public IPv4', '::ffff:0:8.8.8.8'],
      // IPv4-compatible ::a.b.c.d (deprecated): refused whole.
      ['IPv4-compatible, private', '::10.0.0.1'],
      ['IPv4-compatible, public', '::8.8.8.8'],
      ['IPv4-compatible, hex', '::808:808'],
      // Well-known NAT64 prefix: judged by the IPv4 address, in any spelling.
      ['NAT64 well-known, dotted loopback', '64:ff9b::127.0.0.1'],
      ['NAT64 well-known, metadata', '64:ff9b::a9fe:a9fe'],
      ['NAT64 well-known, uncompressed', '64:ff9b:0:0:0:0:c0a8:1'],
      // NAT64 local-use 64:ff9b:1::/48: refused whole.
      ['NAT64 local-use, private', '64:ff9b:1::a00:1'],
      ['NAT64 local-use, public', '64:ff9b:1:808:8:800::'],
      // Teredo 2001::/32: refused whole.
      ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
      ['Teredo, compressed', '2001::1'],
      // 6to4 wrapping a private IPv4 address, in other spellings.
      ['6to4, loopback', '2002:7f00:1::'],
      ['6to4, metadata, leading zeros', '2002:a9fe:a9fe:0000::1'],
      ['6to4, unspecified', '2002::'],
      // The other reserved IPv6 ranges next to them.
      ['benchmarking', '2001:2::1'],
      ['documentation (RFC 9637)', '3fff::1'],
    ])('forbids %s (%s)', (_form, address) => {
      expect(isForbiddenAddress(address)).toBe(true);
    });

    it.each([
      ['NAT64 well-known, public IPv4', '64:ff9b::808:808'],
      ['NAT64 well-known, public IPv4 dotted', '64:ff9b::1.1.1.1'],
      ['6to4 wrapping a public IPv4', '2002:808:808::1'],
      ['next to Teredo', '2001:4860::8888'],
    ])('allows %s (%s)', (_form, address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    });
  });
});
