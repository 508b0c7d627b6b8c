/**
 * The origin of a URL (scheme, host and port, no path or credentials): the destination a circuit
 * breaker tracks, and the unit undici pools connections by. Null for a URL that does not parse.
 */
export function originOf(url: string): string | null {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}
