import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errorCode, StartupError } from './startup-error';

/**
 * Creates `dir` if needed and proves that this process can create a file in it, or throws a
 * {@link StartupError} naming the variable that set it. Checked at start, so that the first
 * accepted advisory does not find out.
 */
export async function ensureWritableDir(dir: string, variable: string): Promise<void> {
  const probe = path.join(dir, `.tocsin-write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await (await open(probe, 'w')).close();
    await unlink(probe);
  } catch (err) {
    const uid = process.getuid?.();
    throw new StartupError(
      `${variable} ${dir} is not a writable directory (${errorCode(err)}): ` +
        `make it writable${uid === undefined ? '' : ` by uid ${uid}`} (chown or chmod), or set ${variable} to one that is`,
      { cause: err },
    );
  }
}
