/**
 * Gathers many short texts (JSON lines, a list's items) into pieces of about `size` characters,
 * so that a large output is written with few system calls and never held whole. Each text is
 * added as it comes; `add` hands back a piece once one is full, `rest` whatever is left at the end.
 */
export interface TextPieces {
  /** Adds `text`; returns the piece it completed, if it did. */
  add(text: string): string | undefined;
  /** What was added since the last piece, or undefined when nothing was. */
  rest(): string | undefined;
}

export function textPieces(size: number): TextPieces {
  let parts: string[] = [];
  let length = 0;
  const take = () => {
    const piece = parts.join('');
    parts = [];
    length = 0;
    return piece;
  };
  return {
    add(text) {
      parts.push(text);
      length += text.length;
      return length >= size ? take() : undefined;
    },
    rest: () => (parts.length > 0 ? take() : undefined),
  };
}

/** The texts of `texts` as pieces of about `size` characters (see {@link textPieces}). */
export async function* inPieces(texts: AsyncIterable<string> | Iterable<string>, size: number): AsyncGenerator<string> {
  const pieces = textPieces(size);
  for await (const text of texts) {
    const piece = pieces.add(text);
    if (piece !== undefined) yield piece;
  }
  const rest = pieces.rest();
  if (rest !== undefined) yield rest;
}
