import { CliFailure } from './commands';

/**
 * The server a client command talks to: `--url` when given, else `TOCSIN_URL` (read through the
 * config, like TOCSIN_ADMIN_TOKEN). `fromEnvironment` is called only without `--url`, so that a
 * command given its server never depends on the rest of the environment parsing.
 */
export function serverUrl(flag: string | undefined, fromEnvironment: () => string | undefined): string {
  const url = flag ?? fromEnvironment();
  if (url === undefined) throw new CliFailure('say which tocsin server: --url URL, or set TOCSIN_URL', 2);
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new CliFailure(`--url must be an absolute http(s) URL, not ${url}`, 2);
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw new CliFailure(`--url must be an absolute http(s) URL, not ${url}`, 2);
  return url;
}
