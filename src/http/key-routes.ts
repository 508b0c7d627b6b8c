import { Router } from 'express';
import type { BroadcasterKeys, KeySnapshot } from '../pgp/broadcaster-keys';
import { wkdAddress } from '../pgp/wkd';
import { handle, HttpError, type Reply } from './http-error';

export interface KeyRouteDeps {
  keys: BroadcasterKeys;
}

/** The email addresses in the current key's user ids, split for WKD. */
function addresses(keys: KeySnapshot) {
  return keys.current.publicKey.users.flatMap((user) => (user.userID?.email ? [wkdAddress(user.userID.email)] : []));
}

/**
 * The binary keys WKD answers with: the current key, then every revoked broadcaster key, so a
 * client that refreshes by WKD also learns that an old key must no longer be trusted.
 */
function wkdBody(keys: KeySnapshot): Buffer {
  return Buffer.concat([keys.current.publicKey.write(), ...keys.revoked.map((k) => k.write())]);
}

const WKD_HEADERS = { 'Access-Control-Allow-Origin': '*' };

/**
 * Where recipients get tocsin's key: `/v1/keys/broadcaster.asc`, Web Key Directory (both the
 * advanced `/.well-known/openpgpkey/<domain>/...` and the direct `/.well-known/openpgpkey/...`
 * layouts), and the last rotation's transition statement.
 */
export function keyRoutes(deps: KeyRouteDeps): Router {
  const router = Router();

  router.get(
    '/v1/keys/broadcaster.asc',
    handle(async () => {
      const keys = await deps.keys.snapshot();
      return { status: 200, type: 'application/pgp-keys', headers: { 'X-Tocsin-Fingerprint': keys.current.fingerprint }, body: keys.current.armoredPublicKey };
    }),
  );

  const transitionPart = (part: 'text' | 'signature', type: string) =>
    handle(async (): Promise<Reply> => {
      const { transition } = await deps.keys.snapshot();
      if (!transition) throw new HttpError(404, 'not_found', 'the broadcaster key has not been rotated');
      return { status: 200, type, body: transition[part] };
    });
  router.get('/v1/keys/transition.json', transitionPart('text', 'application/json'));
  router.get('/v1/keys/transition.json.asc', transitionPart('signature', 'application/pgp-signature'));

  const policy = (domainOf: (p: Record<string, string>) => string | null) =>
    handle(async (req): Promise<Reply> => {
      const domain = domainOf(req.params as Record<string, string>);
      if (domain !== null && !addresses(await deps.keys.snapshot()).some((a) => a.domain === domain.toLowerCase())) {
        throw new HttpError(404, 'not_found', `no keys for ${domain}`);
      }
      // An empty policy file: WKD clients only check that it exists.
      return { status: 200, type: 'text/plain', headers: WKD_HEADERS, body: '' };
    });
  const lookup = (domainOf: (p: Record<string, string>) => string | null) =>
    handle(async (req): Promise<Reply> => {
      const params = req.params as Record<string, string>;
      const domain = domainOf(params)?.toLowerCase() ?? null;
      const keys = await deps.keys.snapshot();
      const hit = addresses(keys).some((a) => a.hash === params.hash && (domain === null || a.domain === domain));
      if (!hit) throw new HttpError(404, 'not_found', 'no key for that address');
      return { status: 200, type: 'application/octet-stream', headers: WKD_HEADERS, body: wkdBody(keys) };
    });
  // The direct layout first: its two-segment paths would otherwise read as an advanced domain.
  router.get('/.well-known/openpgpkey/policy', policy(() => null));
  router.get('/.well-known/openpgpkey/hu/:hash', lookup(() => null));
  router.get('/.well-known/openpgpkey/:domain/policy', policy((p) => p.domain ?? null));
  router.get('/.well-known/openpgpkey/:domain/hu/:hash', lookup((p) => p.domain ?? null));
  return router;
}
