import { Webhook } from 'standardwebhooks';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';

describe('admin API: /v1/recipients', () => {
  describe('with private targets refused (the default)', () => {
    const tocsin = useTocsin(() => ({ workers: false, env: { TOCSIN_ALLOW_PRIVATE_TARGETS: '0' } }));

    it.each([
      'http://127.0.0.1:9/hook',
      'http://localhost:9/hook',
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://192.168.1.1/hook',
    ])('refuses %s with 400 naming the url field', async (url) => {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url });
      expect(r.status).toBe(400);
      expect(r.json.error.fields).toEqual([expect.objectContaining({ field: 'url' })]);
      const list = await tocsin.admin('GET', '/v1/recipients');
      expect(list.json.recipients).toEqual([]);
    });
  });

  describe('with private targets allowed', () => {
    const tocsin = useTocsin(() => ({ workers: false }));

    it('needs the bearer token', async () => {
      expect((await tocsin.call('GET', '/v1/recipients')).status).toBe(401);
      expect((await tocsin.call('GET', '/v1/recipients', undefined, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      expect((await tocsin.call('GET', '/v1/recipients', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
    });

    it('generates a secret, returns it once, and never again', async () => {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/a' });
      expect(r.status).toBe(201);
      expect(r.json.id).toMatch(/^rcpt_[0-9a-f]{20}$/);
      expect(r.json.secret).toMatch(/^whsec_/);
      // The generated secret is a valid Standard Webhooks secret.
      expect(() => new Webhook(r.json.secret as string)).not.toThrow();
      const list = await tocsin.admin('GET', '/v1/recipients');
      expect(list.text).not.toContain(r.json.secret);
      expect(list.json.recipients).toContainEqual(expect.objectContaining({ id: r.json.id, url: 'http://127.0.0.1:9/a' }));
    });

    it('does not echo a secret the admin supplied', async () => {
      const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/b', secret });
      expect(r.status).toBe(201);
      expect(r.text).not.toContain(secret.slice(6));
    });

    it('answers 400 naming bad fields', async () => {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'ftp://x', secret: 'hunter2' });
      expect(r.status).toBe(400);
      expect(r.json.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['secret', 'url']);
      // Standard Webhooks secrets are 24 to 64 bytes: 66 fits the base64 pattern but not the range.
      for (const bytes of [23, 66]) {
        const outOfRange = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/c', secret: `whsec_${Buffer.alloc(bytes, 9).toString('base64')}` });
        expect({ status: outOfRange.status, fields: outOfRange.json.error?.fields }).toEqual({ status: 400, fields: [{ field: 'secret', message: 'must be "whsec_" followed by base64 of 24 to 64 bytes' }] });
      }
      const unknown = await tocsin.admin('POST', '/v1/recipients', { type: 'pigeon' });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error.fields[0].field).toBe('type');
    });

    it('answers GET at the Location of a 201, without the secret, and 404 for an unknown id', async () => {
      const created = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: 'http://127.0.0.1:9/located' });
      const location = created.headers.get('location')!;
      expect(location).toBe(`/v1/recipients/${created.json.id}`);
      const read = await tocsin.admin('GET', location);
      expect(read.status).toBe(200);
      expect(read.json).toEqual(expect.objectContaining({ id: created.json.id, type: 'webhook', url: 'http://127.0.0.1:9/located' }));
      expect(read.text).not.toContain((created.json.secret as string).slice(6));
      expect((await tocsin.call('GET', location)).status).toBe(401);
      expect((await tocsin.admin('GET', '/v1/recipients/rcpt_00000000000000000000')).status).toBe(404);
    });

    it('deletes a recipient, and 404s the second time', async () => {
      const { id } = await tocsin.addWebhook('http://127.0.0.1:9/c');
      expect((await tocsin.admin('DELETE', `/v1/recipients/${id}`)).status).toBe(204);
      expect((await tocsin.admin('DELETE', `/v1/recipients/${id}`)).status).toBe(404);
      const list = await tocsin.admin('GET', '/v1/recipients');
      expect(list.json.recipients.map((r: { id: string }) => r.id)).not.toContain(id);
    });
  });

  describe('without TOCSIN_ADMIN_TOKEN', () => {
    const tocsin = useTocsin(() => ({ workers: false, env: { TOCSIN_ADMIN_TOKEN: '' } }));

    it('keeps the admin API off', async () => {
      const r = await tocsin.admin('GET', '/v1/recipients');
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('admin_disabled');
    });
  });
});
