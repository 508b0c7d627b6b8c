import { decodeQuotedPrintable } from '../notices/pgp-mime';

/**
 * Names the advisory from the signed text only: a JSON document, or a rendered notice whose
 * "Advisory: ID revision N" and "Title:" lines are inside the signature.
 */
export function describeSignedText(signed: string): { id: string; revision: string; title?: string } {
  // An email's signed part may be quoted-printable (non-ASCII text): read its lines decoded.
  const text = /^Content-Transfer-Encoding: quoted-printable\s*$/im.test(signed) ? decodeQuotedPrintable(signed) : signed;
  try {
    const doc = JSON.parse(text) as { id?: unknown; revision?: unknown; title?: unknown };
    return { id: String(doc.id), revision: String(doc.revision), ...(typeof doc.title === 'string' ? { title: doc.title } : {}) };
  } catch {
    const ref = /^Advisory: (\S+) revision (\d+)\s*$/m.exec(text);
    const title = titleLine(text);
    if (!ref) return { id: '(unknown: the signed text names no advisory)', revision: '?' };
    return { id: ref[1]!, revision: ref[2]!, ...(title ? { title } : {}) };
  }
}

/**
 * The first non-empty "Title:" line, its trailing blanks dropped. Read line by line: the regex
 * `/^Title: (.+?)\s*$/m` retried its whitespace tail at every character of a long blank run,
 * quadratic in the run.
 */
function titleLine(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('Title: ')) continue;
    const title = line.slice('Title: '.length).trimEnd();
    if (title !== '') return title;
  }
  return undefined;
}
