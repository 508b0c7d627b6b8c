/**
 * Just enough MIME reading for tests to look at what an SMTP server received, written apart from
 * tocsin's own parser so that the two can disagree.
 */
export interface ReadMessage {
  headers: Map<string, string>;
  /** The exact bytes RFC 3156 says the signature covers. */
  signedPart: Buffer;
  /** The armored signature from the second part. */
  signature: string;
  boundary: string;
}

export function readHeaders(raw: string): Map<string, string> {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

export function readSignedMessage(raw: Buffer): ReadMessage {
  const text = raw.toString('latin1');
  const headers = readHeaders(text);
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error('no boundary');
  const open = `\r\n--${boundary}\r\n`;
  const first = text.indexOf(open);
  const second = text.indexOf(open, first + open.length);
  if (first < 0 || second < 0) throw new Error('fewer than two parts');
  const signedPart = raw.subarray(first + open.length, second);
  const sigText = text.slice(second + open.length);
  const signature = /-----BEGIN PGP SIGNATURE-----[\s\S]*?-----END PGP SIGNATURE-----/.exec(sigText)?.[0];
  if (!signature) throw new Error('no signature');
  return { headers, signedPart, signature, boundary };
}

/** gpg's --status-fd VALIDSIG line names the hash algorithm by its RFC 4880 number. */
export function hashFromValidSig(gpgOutput: string): string | undefined {
  const fields = /\[GNUPG:\] VALIDSIG (.*)/.exec(gpgOutput)?.[1]?.split(' ');
  const names: Record<string, string> = { '2': 'sha1', '8': 'sha256', '9': 'sha384', '10': 'sha512', '11': 'sha224' };
  return fields?.[7] ? names[fields[7]] : undefined;
}
