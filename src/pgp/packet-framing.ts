/** One OpenPGP packet's place in a byte string: its tag and its body's bytes. */
export interface PacketSpan {
  tag: number;
  body: Uint8Array;
}

/**
 * Splits bytes into OpenPGP packets by their headers alone (RFC 9580 section 4.2), without
 * reading any body: counting the packets of a 64 KiB block this way costs well under a
 * millisecond, where openpgp.js's full parse costs about a hundred. Returns the reason as a string
 * when the framing is broken. Partial body lengths are refused: only literal, compressed and
 * encrypted data may use them, never the packets of a signature.
 */
export function packetSpans(bytes: Uint8Array): PacketSpan[] | string {
  const spans: PacketSpan[] = [];
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at]!;
    if ((first & 0x80) === 0) return `byte ${at} is not a packet header`;
    let tag: number;
    let length: number;
    let header: number;
    if (first & 0x40) {
      tag = first & 0x3f;
      const l1 = bytes[at + 1];
      if (l1 === undefined) return `the packet at byte ${at} is cut short`;
      if (l1 < 192) [length, header] = [l1, 2];
      else if (l1 < 224) [length, header] = [((l1 - 192) << 8) + (bytes[at + 2] ?? 0) + 192, 3];
      else if (l1 === 255) [length, header] = [readUint32(bytes, at + 2), 6];
      else return `the packet at byte ${at} uses a partial body length, which no signature packet may`;
    } else {
      tag = (first >> 2) & 0x0f;
      const type = first & 0x03;
      if (type === 3) return `the packet at byte ${at} has an indeterminate length`;
      const size = 1 << type;
      header = 1 + size;
      length = size === 1 ? (bytes[at + 1] ?? 0) : size === 2 ? ((bytes[at + 1] ?? 0) << 8) + (bytes[at + 2] ?? 0) : readUint32(bytes, at + 1);
    }
    const end = at + header + length;
    if (end > bytes.length) return `the packet at byte ${at} is cut short`;
    spans.push({ tag, body: bytes.subarray(at + header, end) });
    at = end;
  }
  return spans;
}

const readUint32 = (bytes: Uint8Array, at: number): number => (((bytes[at] ?? 0) << 24) >>> 0) + ((bytes[at + 1] ?? 0) << 16) + ((bytes[at + 2] ?? 0) << 8) + (bytes[at + 3] ?? 0);
