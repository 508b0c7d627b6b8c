import { Router } from 'express';
import { handle } from './http-error';
import { OPENAPI_PATH, openApiDocument } from './openapi';

/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 description of this API. Public, like `/v1/keys`: the
 * shape of the API is no secret, and clients need it before they hold any token.
 */
export function openApiRoutes(): Router {
  const router = Router();
  // Built once: it depends on the schemas only, never on the request.
  const document = openApiDocument();
  router.get(OPENAPI_PATH, handle(() => ({ status: 200, body: document })));
  return router;
}
