import { createCsvParser, CsvStructureError, readCell, readList, writeCell, writeList } from '../../src/recipients/csv-records';

/** Parses `text` fed as the given chunks. */
function parse(chunks: string[]) {
  const parser = createCsvParser();
  return [...chunks.flatMap((c) => parser.push(c)), ...parser.end()];
}

describe('CSV records', () => {
  const text = 'a,b,c\r\n"x, ""y""",,"two\nlines"\n\nplain,"q"\r\nbad"quote,1,2\n"closed"junk,1,2\nlast,1,2';

  it('reads quoting as RFC 4180 writes it, naming the line each record starts on', () => {
    expect(parse([text])).toEqual([
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['x, "y"', '', 'two\nlines'] },
      { line: 5, cells: ['plain', 'q'] },
      { line: 6, cells: [], problem: expect.stringContaining('double quote') },
      { line: 7, cells: [], problem: expect.stringContaining('closing quote') },
      { line: 8, cells: ['last', '1', '2'] },
    ]);
  });

  it('reads the same however the text is split into chunks', () => {
    const whole = parse([text]);
    for (let i = 0; i <= text.length; i++) expect({ i, records: parse([text.slice(0, i), text.slice(i)]) }).toEqual({ i, records: whole });
  });

  it('gives up on a quote that never closes, naming the line it opened on', () => {
    expect(() => parse(['a,b\n"open,1\nnext,2\n'])).toThrow(CsvStructureError);
    try {
      parse(['a,b\n"open,1\nnext,2\n']);
    } catch (err) {
      expect((err as CsvStructureError).line).toBe(2);
    }
  });

  it('writes cells that read back as they were, formulas defused', () => {
    for (const value of ['plain', 'a,b', 'say "hi"', 'two\nlines', ' edge ', '=1+2', '+1', '-1', '@x', "'quoted"]) {
      const written = writeCell(value);
      const [record] = parse([`${written}\n`]);
      expect({ value, read: readCell(record!.cells[0]!) }).toEqual({ value, read: value });
      expect(/^"?[=+\-@]/.test(written)).toBe(false);
    }
    for (const items of [['a', 'b'], ['a;b', 'c\\d'], ['x\\'], ['\\;']]) expect(readList(writeList(items))).toEqual(items);
  });
});
