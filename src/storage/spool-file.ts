import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { ensureDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './durable-file';
import { linesOf } from './line-file';
import { textPieces } from '../util/text-pieces';

/**
 * A private scratch file of JSON lines, written once, then read as often as needed and removed:
 * what is too large to hold in memory for the length of one request (the checked lines of an
 * import). Nothing in it needs to survive a crash, so nothing is synced.
 */
export interface Spool<T> {
  /** Waits while the file is behind, so that memory holds a buffer's worth at most. */
  write(entry: T): Promise<void>;
  /** Ends writing; reading starts after. */
  end(): Promise<void>;
  /** Every entry, in the order written. */
  read(): AsyncGenerator<T>;
  /** Removes the file (also when writing failed): always called, it holds what the request held. */
  remove(): Promise<void>;
}

const SUFFIX = '.spool.jsonl';
/** What is written at once (UTF-16 units, near enough bytes). */
const PIECE = 64 * 1024;

/** A new spool in `dir` (made private if missing). */
export async function createSpool<T>(dir: string): Promise<Spool<T>> {
  await ensureDir(dir, PRIVATE_DIR_MODE);
  const file = path.join(dir, `${randomUUID()}${SUFFIX}`);
  const stream = createWriteStream(file, { flags: 'wx', mode: PRIVATE_FILE_MODE });
  let failed: Error | null = null;
  stream.on('error', (err) => (failed = err));
  await once(stream, 'open');
  // Lines are written a piece at a time: one write per line costs a system call each.
  const pieces = textPieces(PIECE);
  const put = async (piece: string | undefined) => {
    if (piece !== undefined && !stream.write(piece)) await once(stream, 'drain');
  };
  return {
    async write(entry) {
      if (failed) throw failed;
      await put(pieces.add(`${JSON.stringify(entry)}\n`));
    },
    async end() {
      if (failed) throw failed;
      await put(pieces.rest());
      stream.end();
      await finished(stream);
    },
    async *read() {
      for await (const { text } of linesOf(file)) yield JSON.parse(text) as T;
    },
    async remove() {
      stream.destroy();
      await rm(file, { force: true });
    },
  };
}

/**
 * Removes what spools a process left in `dir` when it stopped mid-request: at start, before any
 * request can make one.
 */
export async function removeSpools(dir: string): Promise<void> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  await Promise.all(names.filter((n) => n.endsWith(SUFFIX)).map((n) => rm(path.join(dir, n), { force: true })));
}
