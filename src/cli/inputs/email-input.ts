import type { InputParser } from './signed-input';

/**
 * An email as received (an .eml file): RFC 3156 multipart/signed. The signed part is taken byte
 * for byte, from after its boundary line's CRLF to the CRLF before the next boundary, which is
 * what the signature covers. A file saved with bare LF line endings is put back into the CRLF
 * form that was signed; the signed part is 7-bit, so reading it as UTF-8 changes nothing.
 */
export const parseEmailInput: InputParser = (text) => {
  const crlf = text.includes('\r\n') ? text : text.replace(/\n/g, '\r\n');
  const signed = parseSigned(crlf);
  if (signed) return signed;
  // A drill's mail: multipart/mixed, an unsigned note with the acknowledgement link, then the
  // signed message as its own part. One level only: tocsin sends nothing nested deeper.
  const mixed = partsOf(crlf, /^\s*multipart\/mixed\s*;/i);
  for (const part of mixed ?? []) {
    const found = parseSigned(part);
    if (found) return found;
  }
  return null;
};

/** The parts of a message (or body part) of the given multipart type; null for another type. */
function partsOf(crlf: string, type: RegExp): string[] | null {
  const headerEnd = crlf.indexOf('\r\n\r\n');
  if (headerEnd < 0) return null;
  const contentType = headerValue(crlf.slice(0, headerEnd), 'content-type');
  if (!contentType || !type.test(contentType)) return null;
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const delimiter = `--${boundary?.[1] ?? boundary?.[2] ?? ''}`;
  if (delimiter === '--') return null;
  return splitParts(crlf.slice(headerEnd + 2), delimiter);
}

/** RFC 3156 multipart/signed, at the top of `crlf`. */
function parseSigned(crlf: string): ReturnType<InputParser> {
  const headerEnd = crlf.indexOf('\r\n\r\n');
  if (headerEnd < 0) return null;
  const contentType = headerValue(crlf.slice(0, headerEnd), 'content-type');
  if (!contentType || !/^\s*multipart\/signed\s*;/i.test(contentType)) return null;
  if (!/protocol\s*=\s*"?application\/pgp-signature"?/i.test(contentType)) return null;
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const delimiter = `--${boundary?.[1] ?? boundary?.[2] ?? ''}`;
  if (delimiter === '--') return null;

  const body = crlf.slice(headerEnd + 2);
  const parts = splitParts(body, delimiter);
  if (!parts || parts.length < 2) return null;
  const [signed, signaturePart] = parts as [string, string];
  const armored = armoredSignatureIn(signaturePart);
  if (!armored) return null;
  return { kind: 'detached', document: signed, signature: armored, form: 'email (.eml)' };
}

/** Unfolded value of the first header with this name. */
function headerValue(headers: string, name: string): string | undefined {
  const unfolded = headers.replace(/\r\n[ \t]+/g, ' ');
  const line = unfolded.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

/**
 * The body parts between delimiter lines. `body` starts with the CRLF that ends the headers, so
 * every delimiter, the first included, is found as CRLF + "--boundary".
 */
function splitParts(body: string, delimiter: string): string[] | null {
  const parts: string[] = [];
  let at = body.indexOf(`\r\n${delimiter}`);
  while (at >= 0) {
    const lineEnd = body.indexOf('\r\n', at + 2);
    if (lineEnd < 0) return parts;
    const line = body.slice(at + 2, lineEnd);
    if (line.startsWith(`${delimiter}--`)) return parts;
    // Only transport padding may follow the boundary on its line.
    if (!/^[ \t]*$/.test(line.slice(delimiter.length))) return null;
    const next = body.indexOf(`\r\n${delimiter}`, lineEnd);
    if (next < 0) return null;
    parts.push(body.slice(lineEnd + 2, next));
    at = next;
  }
  return parts;
}

const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

/**
 * The first armored signature in the part. Two searches, not a lazy regex: that one rescanned to
 * the end from every BEGIN line when no END followed, quadratic in a part full of BEGIN lines.
 * The first BEGIN is the right one: if no END follows it, none follows a later one either.
 */
function armoredSignatureIn(part: string): string | null {
  const start = part.indexOf(BEGIN_SIGNATURE);
  if (start < 0) return null;
  const end = part.indexOf(END_SIGNATURE, start + BEGIN_SIGNATURE.length);
  return end < 0 ? null : part.slice(start, end + END_SIGNATURE.length);
}
