/**
 * CSV as RFC 4180 writes it: fields separated by commas, records by CRLF or LF, a field in
 * double quotes may hold commas, quotes (doubled) and line breaks. Read incrementally, chunk by
 * chunk, so that a large file is never held whole.
 */

/** One record, with the line of the file it starts on (1-based). */
export interface CsvRecord {
  line: number;
  cells: string[];
  /** Why the record cannot be read (its cells are then incomplete); it ends at its line's end. */
  problem?: string;
}

/**
 * The input cannot be read on past this point: a quoted field that never closes (or grows past
 * the limit) would swallow every line after it, so no later line can be trusted either.
 */
export class CsvStructureError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvStructureError';
  }
}

/** No record of a recipient comes near this; it bounds what one hostile quoted field can hold. */
export const MAX_CSV_RECORD_CHARS = 256 * 1024;

type State = 'start' | 'unquoted' | 'quoted' | 'quote-in-quoted' | 'skip';

/** A parser fed chunks of text: `push` answers the records each chunk completes, `end` the last. */
export function createCsvParser() {
  let state: State = 'start';
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let recordLine = 1;
  let recordChars = 0;
  let problem: string | undefined;
  let sawAnything = false;

  const endCell = () => {
    cells.push(cell);
    cell = '';
  };
  const endRecord = (out: CsvRecord[]) => {
    // CRLF ends a record as LF does; a quoted field keeps the CR it holds inside its quotes.
    if (state === 'unquoted' && cell.endsWith('\r')) cell = cell.slice(0, -1);
    if (state !== 'skip') endCell();
    // A blank line is no record (a trailing newline, or a spacer an editor left).
    if (problem !== undefined || cells.length > 1 || cells[0] !== '') out.push({ line: recordLine, cells, ...(problem !== undefined ? { problem } : {}) });
    cells = [];
    cell = '';
    problem = undefined;
    recordChars = 0;
    state = 'start';
    recordLine = line;
  };
  const fail = (message: string) => {
    problem = message;
    state = 'skip';
  };

  function push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      sawAnything = true;
      if (++recordChars > MAX_CSV_RECORD_CHARS) {
        if (state === 'quoted') throw new CsvStructureError(recordLine, `a quoted field longer than ${MAX_CSV_RECORD_CHARS} characters (an unclosed quote?): nothing after it can be read`);
        if (state !== 'skip') fail(`record longer than ${MAX_CSV_RECORD_CHARS} characters`);
      }
      switch (state) {
        case 'skip':
          if (c === '\n') {
            line++;
            endRecord(out);
          }
          break;
        case 'start':
        case 'unquoted':
          if (c === ',') {
            endCell();
            state = 'start';
          } else if (c === '\n') {
            line++;
            endRecord(out);
          } else if (c === '"') {
            if (state === 'start') state = 'quoted';
            else fail('a double quote inside an unquoted field: quote the whole field and double the quote ("")');
          } else {
            cell += c;
            state = 'unquoted';
          }
          break;
        case 'quoted':
          if (c === '"') state = 'quote-in-quoted';
          else {
            if (c === '\n') line++;
            cell += c;
          }
          break;
        case 'quote-in-quoted':
          if (c === '"') {
            cell += '"';
            state = 'quoted';
          } else if (c === ',') {
            endCell();
            state = 'start';
          } else if (c === '\n') {
            line++;
            endRecord(out);
          } else if (c === '\r' && text[i + 1] !== undefined && text[i + 1] !== '\n') {
            fail('a carriage return after a closing quote that is not followed by a line feed');
          } else if (c !== '\r') {
            fail('text after a closing quote: a quoted field ends at a comma or the end of the line');
          }
          break;
      }
    }
    return out;
  }

  function end(): CsvRecord[] {
    if (state === 'quoted') throw new CsvStructureError(recordLine, 'a quoted field is never closed: nothing after its opening quote can be read');
    const out: CsvRecord[] = [];
    if (sawAnything && (state !== 'start' || cells.length > 0 || problem !== undefined)) endRecord(out);
    return out;
  }

  return { push, end };
}

/** Characters a spreadsheet takes as the start of a formula (OWASP, "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r']/;

/**
 * One cell as written: a value a spreadsheet would run as a formula gets a leading `'` (which
 * {@link readCell} removes again, so an export still imports as it was), and a value with a
 * comma, quote, line break or edge space is quoted.
 */
export function writeCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A cell's value: a leading `'` (see {@link writeCell}) is dropped. */
export function readCell(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

/** A list in one cell: items separated by `;`; a `;` or `\` inside an item is written `\;` or `\\`. */
export function writeList(items: readonly string[]): string {
  return items.map((i) => i.replace(/[\\;]/g, (c) => `\\${c}`)).join(';');
}

/** The items of a list cell written by {@link writeList}; a `\` before any other character stands for itself. */
export function readList(cell: string): string[] {
  const items: string[] = [];
  let item = '';
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i]!;
    if (c === '\\' && (cell[i + 1] === ';' || cell[i + 1] === '\\')) item += cell[++i];
    else if (c === ';') {
      items.push(item);
      item = '';
    } else item += c;
  }
  items.push(item);
  return items;
}
