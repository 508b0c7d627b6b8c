import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The version in tocsin's package.json: two levels up from the sources (`src/cli`), three from
 * the build (`dist/src/cli`), as the templates directory is found.
 */
export function tocsinVersion(): string {
  for (const file of [path.resolve(__dirname, '../../package.json'), path.resolve(__dirname, '../../../package.json')]) {
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'tocsin' && pkg.version) return pkg.version;
  }
  return 'unknown';
}
