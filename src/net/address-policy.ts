import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook must never reach unless private targets are allowed: loopback, private,
 * link-local (cloud metadata lives at 169.254.169.254), carrier-grade NAT, multicast, reserved.
 */
const forbidden = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  // Unspecified, loopback and the deprecated IPv4-compatible form ::a.b.c.d, whatever it embeds:
  // nothing legitimate uses it, and a stack may still route it as the IPv4 address.
  ['::', 96],
  // SIIT "IPv4-translated" (::ffff:0:a.b.c.d): a translator on the path turns it into the IPv4 address.
  ['::ffff:0:0:0', 96],
  // NAT64 local-use: where its /48 puts the IPv4 address depends on the operator's prefix length.
  ['64:ff9b:1::', 48],
  // Teredo: the client's IPv4 address is inside, obfuscated, and a relay tunnels to it.
  ['2001::', 32],
  ['2001:2::', 48],
  ['2001:db8::', 32],
  ['3fff::', 20],
  ['100::', 64],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of a valid IPv6 literal (`isIP` said 6), `::` and a dotted tail expanded. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [head = '', tail] = text.split('::');
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

const dottedQuad = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address that decides where a connection to an IPv6 address ends up, for the forms
 * whose IPv4 part sits at a fixed place: IPv4-mapped (::ffff:a.b.c.d), the well-known NAT64
 * prefix (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::/48). Each is judged by that IPv4 address,
 * so a public one stays reachable. Forms that hide it otherwise are refused whole (see above).
 */
function embeddedIPv4(g: number[]): string | null {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return dottedQuad(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return dottedQuad(g[6]!, g[7]!);
  if (g[0] === 0x2002) return dottedQuad(g[1]!, g[2]!);
  return null;
}

/** True when `address` (an IP literal) is loopback, private, link-local, metadata or reserved. */
export function isForbiddenAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return forbidden.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIPv4(ipv6Groups(bare));
    if (v4 !== null) return forbidden.check(v4, 'ipv4');
    return forbidden.check(bare, 'ipv6');
  }
  return true;
}
