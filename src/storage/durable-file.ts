import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * What tocsin keeps to itself: everything it writes under the data directory (held and archived
 * advisories, their markers, the recipient and audit logs) and the broadcaster's private keys.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;
/** What anyone may read: the broadcaster's public keys and statements, the static mirror. */
export const PUBLIC_FILE_MODE = 0o644;
export const PUBLIC_DIR_MODE = 0o755;

/**
 * Makes `dir` when it is missing, with `mode` (its missing parents with the umask's default: the
 * data directory itself is the operator's, and the mirror may live in it). An existing `dir` is
 * left as it is.
 */
async function makeDir(dir: string, mode: number): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(dir, { mode }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
}

/**
 * Makes `dir` exist with exactly `mode`, whatever the umask, tightening it when it already existed
 * (an older tocsin made such directories 0755). For the directories a store or the keys owns.
 */
export async function ensureDir(dir: string, mode: number = PRIVATE_DIR_MODE): Promise<void> {
  await makeDir(dir, mode);
  await chmod(dir, mode);
}

/** fsyncs a directory so that a rename or create inside it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates a file with exactly `mode` (the umask does not apply) and fsyncs it (not its directory).
 * The default is public because the mirror writes its files through this; the stores go through
 * {@link writeFileDurable} and {@link createDirOnce}, which are private by default.
 */
export async function writeSynced(file: string, data: string | Uint8Array, mode = PUBLIC_FILE_MODE): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` atomically: readers see the old content or the new, never a torn write, and
 * once this resolves the new content survives a crash. The file gets exactly `mode`: private
 * (0600) unless the caller says otherwise.
 */
export async function writeFileDurable(file: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): Promise<void> {
  await replaceDurably(file, mode, undefined, (tmp) => writeSynced(tmp, data, mode));
}

/**
 * As {@link writeFileDurable}, the content written piece by piece as `pieces` yields it: a file
 * much larger than what the process should hold at once (a compacted log) is never one string.
 */
export async function writeFileDurableFrom(file: string, pieces: AsyncIterable<string>, mode = PRIVATE_FILE_MODE, renamed?: () => void): Promise<void> {
  await replaceDurably(file, mode, renamed, async (tmp) => {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.chmod(mode);
      for await (const piece of pieces) await handle.write(piece);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Writes a hidden temporary sibling of `file` with `write`, renames it over `file` (then calls
 * `renamed`: from there on `file` is the new content, even if the fsync after fails) and fsyncs
 * the directory.
 */
async function replaceDurably(file: string, mode: number, renamed: (() => void) | undefined, write: (tmp: string) => Promise<void>): Promise<void> {
  const dir = path.dirname(file);
  // A missing directory is made as private as the file; an existing one keeps the mode its owner
  // gave it (see ensureDir), so a private file written into the data directory cannot close it.
  await makeDir(dir, (mode & 0o077) === 0 ? PRIVATE_DIR_MODE : PUBLIC_DIR_MODE);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await write(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  renamed?.();
  await fsyncDir(dir);
}

/**
 * Creates directory `target` holding exactly `files` (name -> content), all or nothing: the files
 * are written and fsynced in a hidden sibling that is then renamed into place. Resolves false,
 * leaving nothing behind, when `target` already exists. The caller fsyncs the parent directory.
 * Private (0700, files 0600): only the stores use it.
 */
export async function createDirOnce(target: string, files: Record<string, string>): Promise<boolean> {
  const tmp = path.join(path.dirname(target), `.incoming-${path.basename(target)}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: PRIVATE_DIR_MODE });
  try {
    await chmod(tmp, PRIVATE_DIR_MODE);
    for (const [name, content] of Object.entries(files)) await writeSynced(path.join(tmp, name), content, PRIVATE_FILE_MODE);
    await fsyncDir(tmp);
    try {
      await rename(tmp, target);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        await rm(tmp, { recursive: true, force: true });
        return false;
      }
      throw err;
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** A file's text, or null when it does not exist (yet): absence is an answer, other errors are not. */
export async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The names in `dir` but hidden ones (a half-written `.incoming-…`); none when `dir` does not exist. */
export async function visibleEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The numbered entries of `dir` (revision directories), ascending; none when `dir` does not exist. */
export async function numberedEntries(dir: string): Promise<number[]> {
  return (await visibleEntries(dir)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
}
