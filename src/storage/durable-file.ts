import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** fsyncs a directory so that a rename or create inside it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file and fsyncs it (not its directory). */
export async function writeSynced(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` atomically: readers see the old content or the new, never a torn write, and
 * once this resolves the new content survives a crash.
 */
export async function writeFileDurable(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeSynced(tmp, data, mode);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * Creates directory `target` holding exactly `files` (name -> content), all or nothing: the files
 * are written and fsynced in a hidden sibling that is then renamed into place. Resolves false,
 * leaving nothing behind, when `target` already exists. The caller fsyncs the parent directory.
 */
export async function createDirOnce(target: string, files: Record<string, string>): Promise<boolean> {
  const tmp = path.join(path.dirname(target), `.incoming-${path.basename(target)}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  try {
    for (const [name, content] of Object.entries(files)) await writeSynced(path.join(tmp, name), content);
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
