import { isIP } from 'node:net';
import { isForbiddenAddress } from './address-policy';
import type { ResolveHost } from './resolve-host';

/**
 * Why a webhook URL may not be enrolled, or null when it may. Checked at enrolment for a clear
 * 400, and again at every connection (see guarded-dispatcher) since DNS answers change; both ask
 * the same `resolveHost`, the runtime's (see RuntimeDeps).
 */
export async function targetUrlProblem(rawUrl: string, allowPrivate: boolean, resolveHost: ResolveHost): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return 'is not a valid URL';
  }
  if (url.username || url.password) return 'must not carry credentials: the HMAC secret authenticates tocsin';
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    return isForbiddenAddress(host) ? `${host} is a loopback, private, link-local or reserved address` : null;
  }
  let addresses: { address: string }[];
  try {
    addresses = await resolveHost(host);
  } catch (err) {
    return `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (addresses.length === 0) return `${host} does not resolve (no address)`;
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  return bad ? `${host} resolves to ${bad.address}, a loopback, private, link-local or reserved address` : null;
}
