import { inPieces, textPieces } from '../../src/util/text-pieces';

describe('text pieces', () => {
  const texts = Array.from({ length: 500 }, (_, i) => `${'x'.repeat(i % 37)}${i}\n`);

  it('hands back every text once, in order, in pieces of at least the size but the last', async () => {
    const pieces: string[] = [];
    for await (const piece of inPieces(texts, 100)) pieces.push(piece);
    expect(pieces.join('')).toBe(texts.join(''));
    expect(pieces.slice(0, -1).every((p) => p.length >= 100)).toBe(true);
    // A piece is handed back as soon as it is full: never more than one text past the size.
    const longest = Math.max(...texts.map((t) => t.length));
    expect(pieces.every((p) => p.length < 100 + longest)).toBe(true);
    expect(pieces.length).toBeGreaterThan(10);
  });

  it('gives back nothing at the end when nothing was added since the last piece', () => {
    const pieces = textPieces(4);
    expect(pieces.rest()).toBeUndefined();
    expect(pieces.add('ab')).toBeUndefined();
    expect(pieces.add('cd')).toBe('abcd');
    expect(pieces.rest()).toBeUndefined();
    expect(pieces.add('e')).toBeUndefined();
    expect(pieces.rest()).toBe('e');
  });
});
