import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** `templates/` at the top of the package, from src/ (tests) or dist/src/ (built). */
export function defaultTemplatesDir(): string {
  const candidates = [path.resolve(__dirname, '../../templates'), path.resolve(__dirname, '../../../templates')];
  return candidates.find((dir) => existsSync(dir)) ?? candidates[0]!;
}

/**
 * One notice template, e.g. `email.txt`: from `templatesDir` (TOCSIN_TEMPLATES_DIR), or from the
 * package's templates/ when that directory has no such file. A team that copied the templates to
 * reword some keeps the shipped wording for the others, templates added after it made its copy
 * included (the retraction ones): a file it never had must not stop a notice from going out.
 */
export async function readNoticeTemplate(templatesDir: string, name: string): Promise<string> {
  try {
    return await readFile(path.join(templatesDir, name), 'utf8');
  } catch (err) {
    const shipped = defaultTemplatesDir();
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.resolve(templatesDir) === path.resolve(shipped)) throw err;
    return readFile(path.join(shipped, name), 'utf8');
  }
}
