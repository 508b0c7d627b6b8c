import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/queue/redis-keys';
import { createLogger } from '../../src/log';
import { startApi } from '../../src/runtime/start-api';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { ADMIN_TOKEN, startTocsin, type Tocsin } from '../support/tocsin-harness';

type Json = Record<string, any>;
const fieldsOf = (r: { json: Json }) => (r.json.error?.fields as { field: string; message: string }[] | undefined)?.map((f) => f.field).sort();

/**
 * The routing fields of a recipient (coordinated disclosure) through the admin API: shown on every
 * recipient, changed by PATCH, durable like enrolment, and deciding who receives what.
 */
describe('admin API: recipient groups, tlp and filter', () => {
  let tocsin: Tocsin;
  let publisher: GpgPublisher;
  let redis: Redis;

  beforeAll(async () => {
    publisher = await createGpgPublisher('routing@example.org');
    tocsin = await startTocsin({ workers: false, publishers: [publisher.armoredPublicKey] });
    redis = new Redis(tocsin.config.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await tocsin?.close();
    await publisher?.dispose();
  });

  const patch = (id: string, body: unknown) => tocsin.admin('PATCH', `/v1/recipients/${id}`, body);
  const inRedis = async (id: string) => JSON.parse((await redis.hget(redisKeys(tocsin.config.prefix).recipients, id)) ?? 'null') as Json | null;

  it('shows groups, tlp and filter on every recipient, with their defaults', async () => {
    const plain = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/plain' });
    expect(plain.status).toBe(201);
    expect(plain.json).toMatchObject({ groups: [], tlp: 'CLEAR', filter: null });
    const hook = await tocsin.admin('POST', '/v1/recipients', {
      type: 'webhook',
      url: 'http://127.0.0.1:9/distros',
      groups: ['distros'],
      tlp: 'AMBER',
      filter: { products: ['acme-server'], min_severity: 'high' },
    });
    expect(hook.status).toBe(201);
    expect(hook.json).toMatchObject({ groups: ['distros'], tlp: 'AMBER', filter: { products: ['acme-server'], min_severity: 'high' } });
    const shown = await tocsin.admin('GET', `/v1/recipients/${hook.json.id}`);
    expect(shown.json).toEqual(expect.objectContaining({ groups: ['distros'], tlp: 'AMBER', filter: { products: ['acme-server'], min_severity: 'high' } }));
    const listed = (await tocsin.admin('GET', '/v1/recipients')).json.recipients as Json[];
    expect(listed.find((r) => r.id === plain.json.id)).toMatchObject({ groups: [], tlp: 'CLEAR', filter: null });
  });

  it('PATCH changes groups, tlp and filter, each given field replaced whole and the rest kept', async () => {
    const { id, secret } = await tocsin.addWebhook('http://127.0.0.1:9/patched');
    const first = await patch(id, { groups: ['distros', 'cert'], tlp: 'AMBER', filter: { kinds: ['advisory'], products: ['acme-server'] } });
    expect(first.status).toBe(200);
    expect(first.json).toEqual(expect.objectContaining({ id, type: 'webhook', url: 'http://127.0.0.1:9/patched', groups: ['distros', 'cert'], tlp: 'AMBER', filter: { kinds: ['advisory'], products: ['acme-server'] } }));
    // The public view: a PATCH answer never carries the secret.
    expect(first.text).not.toContain(secret.slice(6));
    expect(first.json).not.toHaveProperty('secret');

    // Only tlp: groups and filter stay. A new filter replaces the old one whole.
    expect((await patch(id, { tlp: 'GREEN' })).json).toMatchObject({ groups: ['distros', 'cert'], tlp: 'GREEN', filter: { kinds: ['advisory'], products: ['acme-server'] } });
    expect((await patch(id, { filter: { min_severity: 'critical' }, groups: [] })).json).toMatchObject({ groups: [], tlp: 'GREEN', filter: { min_severity: 'critical' } });
    // null removes the filter.
    const cleared = await patch(id, { filter: null });
    expect(cleared.json).toMatchObject({ filter: null, tlp: 'GREEN' });

    // GET and the workers' copy in Redis say the same.
    expect((await tocsin.admin('GET', `/v1/recipients/${id}`)).json).toEqual(cleared.json);
    expect(await inRedis(id)).toEqual(expect.objectContaining({ id, secret, groups: [], tlp: 'GREEN' }));
    expect(await inRedis(id)).not.toHaveProperty('filter');
  });

  it('refuses what a PATCH cannot do, naming the field, and changes nothing', async () => {
    const { id } = await tocsin.addWebhook('http://127.0.0.1:9/refusing');
    expect((await patch(id, { groups: ['ops'] })).status).toBe(200);
    const before = (await tocsin.admin('GET', `/v1/recipients/${id}`)).json;

    const url = await patch(id, { url: 'http://127.0.0.1:9/elsewhere', tlp: 'GREEN' });
    expect({ status: url.status, fields: fieldsOf(url) }).toEqual({ status: 400, fields: ['url'] });
    expect(url.json.error.fields[0].message).toContain('cannot be changed');
    for (const [body, fields] of [
      [{ secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }, ['secret']],
      [{ type: 'email' }, ['type']],
      [{ colour: 'red' }, ['colour']],
      [{ tlp: 'RED' }, ['tlp']],
      [{ groups: ['Not A Group'] }, ['groups.0']],
      [{ groups: ['a', 'a'] }, ['groups']],
      [{ filter: { min_severity: 'dire' } }, ['filter.min_severity']],
      [{ filter: { products: ['x'], vendor: 'y' } }, ['filter.vendor']],
      [{}, ['(body)']],
      [[], ['(body)']],
    ] as const) {
      const r = await patch(id, body);
      expect({ body, status: r.status, code: r.json.error?.code, fields: fieldsOf(r) }).toEqual({ body, status: 400, code: 'invalid_recipient', fields });
    }
    expect((await tocsin.admin('GET', `/v1/recipients/${id}`)).json).toEqual(before);
  });

  it('keeps Mastodon, a public channel, at TLP:CLEAR', async () => {
    const mastodon = await tocsin.admin('POST', '/v1/recipients', { type: 'mastodon', instance_url: 'http://127.0.0.1:9', access_token: 'token-0123456789' });
    expect(mastodon.status).toBe(201);
    const id = mastodon.json.id as string;
    const amber = await patch(id, { tlp: 'AMBER' });
    expect({ status: amber.status, fields: fieldsOf(amber) }).toEqual({ status: 400, fields: ['tlp'] });
    expect(amber.json.error.fields[0].message).toContain('public');
    // Groups and filters are fine on a public channel, and CLEAR may be said.
    expect((await patch(id, { tlp: 'CLEAR', groups: ['public'], filter: { min_severity: 'high' } })).json).toMatchObject({ tlp: 'CLEAR', groups: ['public'], filter: { min_severity: 'high' } });
  });

  it('answers 404 for an unknown or removed id, as GET does, and needs the admin token', async () => {
    expect((await patch('rcpt_00000000000000000000', { tlp: 'GREEN' })).status).toBe(404);
    const { id } = await tocsin.addWebhook('http://127.0.0.1:9/gone');
    expect((await tocsin.admin('DELETE', `/v1/recipients/${id}`)).status).toBe(204);
    const gone = await patch(id, { tlp: 'GREEN' });
    expect({ status: gone.status, code: gone.json.error.code }).toEqual({ status: 404, code: 'not_found' });
    expect(await inRedis(id)).toBeNull();
    const { id: kept } = await tocsin.addWebhook('http://127.0.0.1:9/kept');
    expect((await tocsin.call('PATCH', `/v1/recipients/${kept}`, { tlp: 'GREEN' })).status).toBe(401);
    expect((await tocsin.admin('GET', `/v1/recipients/${kept}`)).json.tlp).toBe('CLEAR');
  });

  it('routes the next advisory by the changed fields: who was not cleared for AMBER is, once PATCHed', async () => {
    const { id } = await tocsin.addWebhook('http://127.0.0.1:9/amber');
    const audienceOf = async (tlp: string, severity = 'critical') => {
      const advisory = uniqueId('ROUTE');
      const document = documentText(sampleAdvisory({ id: advisory, tlp, severity }));
      const accepted = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
      expect(accepted.status).toBe(202);
      const view = await tocsin.admin('GET', `/v1/advisories/${advisory}/deliveries`);
      return (view.json.deliveries as { recipient: string }[]).map((d) => d.recipient);
    };
    expect(await audienceOf('AMBER')).not.toContain(id);
    expect((await patch(id, { tlp: 'AMBER', filter: { min_severity: 'critical' } })).status).toBe(200);
    expect(await audienceOf('AMBER')).toContain(id);
    expect(await audienceOf('CLEAR', 'medium')).not.toContain(id);
    expect((await patch(id, { filter: null })).status).toBe(200);
    expect(await audienceOf('CLEAR', 'medium')).toContain(id);
  });

  it('keeps changes across an API restart (the log is the truth), and reads recipients stored before these fields', async () => {
    const { id } = await tocsin.addWebhook('http://127.0.0.1:9/durable');
    expect((await patch(id, { groups: ['distros'], tlp: 'AMBER+STRICT', filter: { kinds: ['mitigation'] } })).status).toBe(200);
    expect((await patch(id, { filter: null })).status).toBe(200);
    await tocsin.api.close();
    // A recipient as an older tocsin logged it: no groups, tlp or filter.
    const old = { id: 'rcpt_0123456789abcdef0123', type: 'webhook', url: 'http://127.0.0.1:9/old', secret: `whsec_${Buffer.alloc(32, 3).toString('base64')}`, created_at: '2026-01-01T00:00:00.000Z' };
    await appendFile(path.join(tocsin.config.dataDir, 'recipients.jsonl'), `${JSON.stringify({ op: 'add', at: old.created_at, recipient: old })}\n`);
    // Redis lost its copy too: the restarted API brings it back from the log.
    await redis.del(redisKeys(tocsin.config.prefix).recipients);

    const api = await startApi(tocsin.config, createLogger('silent'));
    try {
      const get = async (rid: string) => (await (await fetch(`http://127.0.0.1:${api.port}/v1/recipients/${rid}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as Json;
      expect(await get(id)).toMatchObject({ groups: ['distros'], tlp: 'AMBER+STRICT', filter: null });
      expect(await get(old.id)).toEqual({ id: old.id, type: 'webhook', url: old.url, created_at: old.created_at, groups: [], tlp: 'CLEAR', filter: null, status: 'active' });
      expect(await inRedis(id)).toMatchObject({ groups: ['distros'], tlp: 'AMBER+STRICT' });
    } finally {
      await api.close();
    }
  });
});
