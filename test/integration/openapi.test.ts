import type { Server } from 'node:http';
import Ajv2020 from 'ajv/dist/2020';
import { z } from 'zod';
import { advisoryDocumentSchema } from '../../src/advisory/schema';
import { signaturesSchema, submissionSchema } from '../../src/http/advisory-routes';
import { createApp, type AppDeps } from '../../src/http/app';
import { drillAckFormSchema } from '../../src/http/drill-ack-routes';
import { listQuerySchema, replaySchema } from '../../src/http/delivery-routes';
import { actorHeaderSchema, enrolSchema, fingerprintParamSchema } from '../../src/http/publisher-routes';
import { createLogger } from '../../src/log';
import { createRecipientSchema, importLineSchema, publicView, updateRecipientSchema } from '../../src/recipients/recipient';
import { appRoutes } from '../support/app-routes';
import { validateOpenApi } from '../support/openapi-validator';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Only the tokens and a silent log: routes whose handlers would need more answer 500, which is all these tests need of them. */
const deps = { log: createLogger('silent'), adminToken: 'openapi-admin-token-0001', metricsToken: 'openapi-metrics-token-0002' } as AppDeps;

/** What zod itself makes of a schema a route validates with: the document must hold exactly this. */
const zodJson = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
  return rest;
};

describe('GET /v1/openapi.json', () => {
  let server: Server;
  let base: string;
  let doc: any;

  beforeAll(async () => {
    server = createApp(deps).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    // Public: no token, while the admin and metrics tokens are set.
    const res = await fetch(`${base}/v1/openapi.json`);
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status: 200, type: 'application/json; charset=utf-8' });
    doc = await res.json();
  });
  afterAll(() => new Promise((r) => server.close(r)));

  /** Each operation of the document as `METHOD /path` in OpenAPI's spelling (`{id}`). */
  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
      Object.keys(item).filter((k) => METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${p}`),
    );

  it('is a valid OpenAPI 3.1 document, by the official schema', async () => {
    const verdict = await validateOpenApi(doc);
    expect(verdict).toEqual({ valid: true, version: '3.1' });
  });

  it('describes every route the app serves, and no route it does not serve', () => {
    const { routes, routersOutside } = appRoutes({} as AppDeps);
    // A router mounted outside mountedRouters() would be missed here: refuse to pass silently.
    expect({ routersOutside }).toEqual({ routersOutside: 0 });
    expect(routes.length).toBeGreaterThan(25);
    const served = routes.map((r) => r.replace(/:(\w+)/g, '{$1}'));
    const described = operations();
    expect({ undescribed: served.filter((r) => !described.includes(r)), describedButNotServed: described.filter((r) => !served.includes(r)) }).toEqual({
      undescribed: [],
      describedButNotServed: [],
    });
  });

  it('takes request bodies and parameters from the zod schemas the routes validate with', () => {
    const schemas = doc.components.schemas;
    expect(schemas.Signatures).toEqual(zodJson(signaturesSchema));
    expect(schemas.CreateRecipient).toEqual(zodJson(createRecipientSchema));
    expect(schemas.UpdateRecipient).toEqual(zodJson(updateRecipientSchema));
    expect(schemas.ImportLine).toEqual(zodJson(importLineSchema));
    expect(schemas.EnrolPublisher).toEqual(zodJson(enrolSchema));
    expect(schemas.ReplayRequest).toEqual(zodJson(replaySchema));
    expect(schemas.DrillAck).toEqual(zodJson(drillAckFormSchema));
    expect(schemas.AdvisoryDocument).toEqual(zodJson(advisoryDocumentSchema));
    // The envelope, with its `document` string said to hold the advisory document as JSON.
    const submission = zodJson(submissionSchema) as any;
    submission.properties.document = { ...submission.properties.document, contentMediaType: 'application/json', contentSchema: { $ref: '#/components/schemas/AdvisoryDocument' } };
    expect(schemas.Submission).toEqual(submission);

    const param = (p: string, method: string, name: string) => doc.paths[p][method].parameters.find((x: any) => x.name === name).schema;
    expect(param('/v1/publishers/{fingerprint}', 'delete', 'fingerprint')).toEqual(zodJson(fingerprintParamSchema));
    expect(param('/v1/publishers', 'post', 'X-Tocsin-Actor')).toEqual(zodJson(actorHeaderSchema));
    const query = zodJson(listQuerySchema) as any;
    for (const name of Object.keys(query.properties)) expect({ name, schema: param('/v1/deliveries', 'get', name) }).toEqual({ name, schema: query.properties[name] });

    // Every request body is a reference to one of those, or the unsubscribe form (read only to drain it).
    const bodies = Object.entries(doc.paths).flatMap(([p, item]: [string, any]) =>
      METHODS.filter((m) => item[m]?.requestBody).map((m) => [p, Object.values(item[m].requestBody.content as Record<string, any>)[0].schema] as const),
    );
    expect(bodies.length).toBe(14);
    // The two button pages post a form whose fields do not matter.
    for (const [p, schema] of bodies) if (p !== '/v1/unsubscribe/{token}' && p !== '/v1/subscriptions/confirm/{token}') expect({ p, ref: schema.$ref }).toEqual({ p, ref: expect.stringMatching(/^#\/components\/schemas\/\w+$/) });
  });

  it('describes the recipient the API shows, routing fields included, for one stored before they existed too', () => {
    const recipient = new Ajv2020({ strict: false }).compile(doc.components.schemas.Recipient);
    const stored = { id: 'rcpt_0', type: 'webhook' as const, url: 'https://partner.example/hook', secret: 'whsec_x', created_at: '2026-01-01T00:00:00.000Z' };
    const changed = { ...stored, groups: ['distros'], tlp: 'AMBER' as const, filter: { products: ['acme-server'], min_severity: 'high' as const, kinds: ['advisory' as const] } };
    for (const view of [publicView(stored), publicView(changed)]) expect({ view, valid: recipient(view), errors: recipient.errors ?? null }).toEqual({ view, valid: true, errors: null });
    expect(recipient({ ...publicView(stored), tlp: 'RED' })).toBe(false);
    expect(recipient({ id: 'rcpt_0', type: 'webhook', created_at: '2026-01-01T00:00:00.000Z' })).toBe(false);
  });

  it('marks exactly the operations that refuse a request without a token as needing one, and every refusal has the error shape', async () => {
    const errorShape = new Ajv2020({ strict: false }).compile(doc.components.schemas.Error);
    const answers = await Promise.all(
      operations().map(async (operation) => {
        const [method, p] = operation.split(' ') as [string, string];
        const res = await fetch(base + p.replace(/\{\w+\}/g, 'x'), { method });
        const text = await res.text();
        // Whatever the refusal, its body has the documented error shape.
        if (res.status >= 400 && res.headers.get('content-type')?.startsWith('application/json')) {
          expect({ operation, status: res.status, valid: errorShape(JSON.parse(text)), errors: errorShape.errors ?? null }).toEqual({ operation, status: res.status, valid: true, errors: null });
        }
        const security = doc.paths[p][method.toLowerCase()].security as object[] | undefined;
        const needsToken = security !== undefined && !security.some((s) => Object.keys(s).length === 0);
        return { operation, needsToken, refusedWithoutToken: res.status === 401 };
      }),
    );
    expect(answers.filter((a) => a.needsToken).length).toBeGreaterThan(8);
    expect(answers.filter((a) => a.needsToken !== a.refusedWithoutToken)).toEqual([]);
  });

  it('describes every error answer with the one error shape', () => {
    for (const [p, item] of Object.entries(doc.paths) as [string, any][]) {
      for (const m of METHODS.filter((x) => item[x])) {
        const responses = item[m].responses as Record<string, any>;
        expect({ at: `${m} ${p}`, default: responses.default?.content['application/json'].schema }).toEqual({ at: `${m} ${p}`, default: { $ref: '#/components/schemas/Error' } });
        for (const [status, r] of Object.entries(responses)) {
          // The unsubscribe, subscriber and drill acknowledgement pages answer people in text; a degraded /readyz is a report, not a refusal.
          const page = p.startsWith('/v1/unsubscribe/') || p.startsWith('/v1/subscriptions/confirm/') || `${m} ${p} ${status}` === 'get /subscribe 404' || p === '/v1/drills/{id}/ack';
          if (status === 'default' || Number(status) < 400 || page || `${m} ${p} ${status}` === 'get /readyz 503') continue;
          expect({ at: `${m} ${p} ${status}`, schema: r.content['application/json'].schema }).toEqual({ at: `${m} ${p} ${status}`, schema: { $ref: '#/components/schemas/Error' } });
        }
      }
    }
  });
});
