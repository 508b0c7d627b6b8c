import { request } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { IMPORT_BODY_LIMIT_BYTES } from '../../src/http/import-body';
import { MAX_IMPORT_REJECTIONS } from '../../src/http/recipient-import-route';
import type { ResolveHost } from '../../src/net/resolve-host';
import { startTocsin, ADMIN_TOKEN, type Tocsin } from '../support/tocsin-harness';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 8).toString('base64')}`;

/** POSTs an import body with its content type, as an admin. */
async function importBody(t: Tocsin, body: string, type: string, query = '') {
  const res = await fetch(`${t.url}/v1/recipients/import${query}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type }, body });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Record<string, any>, headers: res.headers };
}
const ndjson = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

/** The scratch files imports left: none once each has answered (they hold recipients' secrets). */
const spoolFiles = async (t: Tocsin) => readdir(path.join(t.config.dataDir, 'import-spool')).catch(() => []);

async function list(t: Tocsin): Promise<Record<string, any>[]> {
  return (await t.admin('GET', '/v1/recipients')).json.recipients as Record<string, any>[];
}

describe('POST /v1/recipients/import', () => {
  let t: Tocsin;
  /** Every host name the API asked about, in order. */
  const asked: string[] = [];
  const resolveHost: ResolveHost = async (host) => {
    asked.push(host);
    return [{ address: host.startsWith('internal') ? '10.0.0.7' : '93.184.215.14', family: 4 }];
  };
  beforeEach(async () => {
    asked.length = 0;
    t = await startTocsin({ workers: false, resolveHost, env: { TOCSIN_ALLOW_PRIVATE_TARGETS: '0', TOCSIN_SMTP_URLS: 'smtp://127.0.0.1:9', TOCSIN_MAIL_FROM: 'tocsin@example.org' } });
  });
  afterEach(() => t?.close());

  it('imports NDJSON, each line a POST /v1/recipients body, and answers what it did', async () => {
    const r = await importBody(
      t,
      ndjson([
        { type: 'webhook', url: 'https://hooks.example/a', secret: SECRET, groups: ['distros'], tlp: 'AMBER' },
        { type: 'email', address: 'Ops@Example.org', consent_confirmed: true, filter: { products: ['acme'], min_severity: 'high' } },
        '',
        { type: 'slack', channel_id: 'C0123456', token: 'xoxb-1234567890-abc' },
        { type: 'mastodon', instance_url: 'https://social.example/', access_token: 'tok-12345678' },
      ]),
      'application/x-ndjson',
    );
    expect(r).toMatchObject({ status: 200, json: { imported: 4, updated: 0, rejected: [] } });
    const all = await list(t);
    expect(all).toHaveLength(4);
    expect(all).toContainEqual(expect.objectContaining({ type: 'webhook', url: 'https://hooks.example/a', groups: ['distros'], tlp: 'AMBER' }));
    expect(all).toContainEqual(expect.objectContaining({ type: 'email', address: 'Ops@Example.org', filter: { products: ['acme'], min_severity: 'high' } }));
    expect(JSON.stringify(all)).not.toContain('xoxb-');
  });

  it('changes nothing when one line is bad (400 with every refused line and field), and imports the rest with ?skip_invalid=true', async () => {
    const body = ndjson([
      { type: 'webhook', url: 'https://hooks.example/good', secret: SECRET },
      { type: 'webhook', url: 'ftp://hooks.example/bad', secret: 'hunter2' },
      { type: 'email', address: 'someone@example.org' },
      { type: 'webhook', url: 'https://internal.example/hook', secret: SECRET },
      '{"type": "webhook", "url": "https://hooks.example/x", "url": "https://internal.example/x"}',
      'not json',
      { type: 'email', address: 'fine@example.org', consent_confirmed: true, tlp: 'RED' },
      { type: 'email', address: 'second@example.org', consent_confirmed: true },
    ]);
    const refused = await importBody(t, body, 'application/x-ndjson');
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe('invalid_import');
    const expected = [
      { line: 2, field: 'url', message: expect.any(String) },
      { line: 2, field: 'secret', message: expect.any(String) },
      { line: 3, field: 'consent_confirmed', message: expect.any(String) },
      { line: 4, field: 'url', message: expect.stringContaining('10.0.0.7') },
      { line: 5, field: 'url', message: expect.stringContaining('duplicate key') },
      { line: 6, field: '(line)', message: expect.stringContaining('not a JSON object') },
      { line: 7, field: 'tlp', message: expect.any(String) },
    ];
    expect(refused.json.error.rejected).toEqual(expected);
    expect(await list(t)).toEqual([]);

    const skipped = await importBody(t, body, 'application/x-ndjson', '?skip_invalid=true');
    expect(skipped).toMatchObject({ status: 200, json: { imported: 2, updated: 0, rejected: expected } });
    expect((await list(t)).map((r) => r.url ?? r.address).sort()).toEqual(['https://hooks.example/good', 'second@example.org']);
  });

  it('updates a recipient that exists (same target) instead of adding it again, keeping its id and secrets', async () => {
    const created = await t.admin('POST', '/v1/recipients', { type: 'webhook', url: 'https://hooks.example/a', secret: SECRET, groups: ['old'] });
    const mail = await t.admin('POST', '/v1/recipients', { type: 'email', address: 'ops@example.org' });
    const r = await importBody(
      t,
      ndjson([
        // No secret: the stored one stays. Another spelling of the same URL is the same target.
        { type: 'webhook', url: 'HTTPS://HOOKS.example:443/a', groups: ['distros'] },
        { type: 'email', address: 'OPS@example.ORG', consent_confirmed: true, tlp: 'GREEN' },
        { type: 'webhook', url: 'https://hooks.example/new', secret: OTHER_SECRET },
      ]),
      'application/x-ndjson',
    );
    expect(r).toMatchObject({ status: 200, json: { imported: 1, updated: 2, rejected: [] } });
    const all = await list(t);
    expect(all).toHaveLength(3);
    expect(all).toContainEqual(expect.objectContaining({ id: created.json.id, url: 'https://hooks.example/a', groups: ['distros'] }));
    expect(all).toContainEqual(expect.objectContaining({ id: mail.json.id, address: 'ops@example.org', tlp: 'GREEN' }));
    // The secret stayed: it is in the durable log once, under the first id.
    const log = await readFile(path.join(t.config.dataDir, 'recipients.jsonl'), 'utf8');
    expect(log.split(SECRET).length - 1).toBe(2);

    const again = await importBody(t, ndjson([{ type: 'webhook', url: 'https://hooks.example/a', groups: ['distros'] }, { type: 'webhook', url: 'https://hooks.example/a' }]), 'application/x-ndjson');
    expect(again.json.error.rejected).toEqual([{ line: 2, field: 'url', message: expect.stringContaining('line 1') }]);
  });

  it('refuses a new recipient without its secret, since nobody could be shown a generated one', async () => {
    const r = await importBody(t, ndjson([{ type: 'webhook', url: 'https://hooks.example/n' }, { type: 'slack', channel_id: 'C0123456' }]), 'application/x-ndjson');
    expect(r.json.error.rejected).toEqual([
      { line: 1, field: 'secret', message: expect.stringContaining('required for a new recipient') },
      { line: 2, field: 'token', message: expect.stringContaining('required for a new recipient') },
    ]);
  });

  it('asks the resolver once per distinct host, however many lines name it', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => ({ type: 'webhook', url: `https://host${i % 3}.example/hook/${i}`, secret: SECRET }));
    const r = await importBody(t, ndjson(lines), 'application/x-ndjson');
    expect(r.json).toMatchObject({ imported: 300 });
    expect(asked.sort()).toEqual(['host0.example', 'host1.example', 'host2.example']);
  });

  it('imports CSV: header row, lists as a;b, filter parts as filter.x columns, and quoting as RFC 4180 writes it', async () => {
    const csv = [
      'type,url,secret,address,consent_confirmed,description,groups,tlp,filter.products,filter.min_severity,filter.kinds',
      `webhook,https://hooks.example/csv,${SECRET},,,"Acme, Inc. ""ops""",distros;cloud,AMBER,acme;pkg:npm/acme,high,advisory`,
      'email,,,csv@example.org,true,"two',
      'lines",,,,,',
      "email,,,quote@example.org,true,'=1+2,,,,,\r",
    ].join('\n');
    const r = await importBody(t, csv, 'text/csv; charset=utf-8');
    expect(r.status).toBe(400);
    // A line break inside a description is refused (one line only), named at the row's first line.
    expect(r.json.error.rejected).toEqual([{ line: 3, field: 'description', message: expect.any(String) }]);
    const ok = await importBody(t, csv, 'text/csv', '?skip_invalid=true');
    expect(ok.json).toMatchObject({ imported: 2, rejected: [{ line: 3, field: 'description' }] });
    const all = await list(t);
    expect(all).toContainEqual(
      expect.objectContaining({ url: 'https://hooks.example/csv', description: 'Acme, Inc. "ops"', groups: ['distros', 'cloud'], tlp: 'AMBER', filter: { products: ['acme', 'pkg:npm/acme'], min_severity: 'high', kinds: ['advisory'] } }),
    );
    // The leading ' that keeps a spreadsheet from running a formula is not part of the value.
    expect(all).toContainEqual(expect.objectContaining({ address: 'quote@example.org', description: '=1+2' }));
  });

  it.each([
    ['an unknown column', 'type,url,colour\n', { line: 1, field: 'colour' }],
    ['a column named twice', 'type,url,url\n', { line: 1, field: 'url' }],
    ['no header', '', { line: 1, field: '(header)' }],
    ['a quote that never closes', `type,url,secret\nwebhook,"https://hooks.example/a,${SECRET}\nwebhook,https://hooks.example/b,${SECRET}\n`, { line: 2, field: '(line)' }],
  ])('refuses a CSV with %s whole, even with skip_invalid, naming the line', async (_what, csv, where) => {
    const r = await importBody(t, csv, 'text/csv', '?skip_invalid=true');
    expect(r.status).toBe(400);
    expect(r.json.error.rejected).toEqual([expect.objectContaining(where)]);
    expect(await list(t)).toEqual([]);
  });

  it('refuses hostile CSV rows one by one: a stray quote, text after a closing quote, a cell too many', async () => {
    const csv = [
      'type,url,secret',
      `webhook,https://hooks.example/a"b,${SECRET}`,
      `webhook,"https://hooks.example/c"x,${SECRET}`,
      `webhook,https://hooks.example/d,${SECRET},extra`,
      `webhook,https://hooks.example/e,${SECRET}`,
    ].join('\r\n');
    const r = await importBody(t, csv, 'text/csv', '?skip_invalid=true');
    expect(r.json).toEqual({
      imported: 1,
      updated: 0,
      rejected: [
        { line: 2, field: '(line)', message: expect.stringContaining('double quote') },
        { line: 3, field: '(line)', message: expect.stringContaining('closing quote') },
        { line: 4, field: '(line)', message: expect.stringContaining('4 cells') },
      ],
    });
  });

  it(`stops reading a body with more than ${MAX_IMPORT_REJECTIONS} refusals, even with skip_invalid: the report stays bounded`, async () => {
    const r = await importBody(t, 'x\n'.repeat(MAX_IMPORT_REJECTIONS + 5), 'application/x-ndjson', '?skip_invalid=true');
    expect(r.status).toBe(400);
    expect(r.json.error.rejected).toEqual([{ line: MAX_IMPORT_REJECTIONS + 1, field: '(line)', message: expect.stringContaining('stopped reading') }]);
  });

  it('lets the next import run after a client that went away mid-body, having written nothing', async () => {
    const url = new URL(`${t.url}/v1/recipients/import`);
    const partial = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-ndjson', 'content-length': '100000' } });
    partial.on('error', () => undefined);
    // Once its first line is on the wire, the client disappears.
    await new Promise<void>((resolve) => partial.write(`${JSON.stringify({ type: 'webhook', url: 'https://hooks.example/half', secret: SECRET })}\n`, () => resolve()));
    partial.destroy();
    const next = await importBody(t, ndjson([{ type: 'webhook', url: 'https://hooks.example/next', secret: SECRET }]), 'application/x-ndjson');
    expect(next.json).toEqual({ imported: 1, updated: 0, rejected: [] });
    expect((await list(t)).map((r) => r.url)).toEqual(['https://hooks.example/next']);
    expect(await spoolFiles(t)).toEqual([]);
  });

  it('answers 415 for another content type or a compressed body, 400 for a bad query, 401 without the token', async () => {
    expect((await importBody(t, '{}', 'application/json')).status).toBe(415);
    expect((await importBody(t, 'a', 'text/csv; charset=latin1')).status).toBe(415);
    const gz = await fetch(`${t.url}/v1/recipients/import`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, body: 'x' });
    expect(gz.status).toBe(415);
    const q = await importBody(t, '', 'application/x-ndjson', '?skip_invalid=yes');
    expect(q.json.error.fields).toEqual([{ field: 'skip_invalid', message: expect.any(String) }]);
    expect((await fetch(`${t.url}/v1/recipients/import`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '' })).status).toBe(401);
  });

  /** Sends `bytes` of NDJSON padding (blank lines of spaces) in chunks, declared or chunked, and answers the status. */
  function sendLarge(bytes: number, declareLength: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const url = new URL(`${t.url}/v1/recipients/import`);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-ndjson', ...(declareLength ? { 'content-length': String(bytes) } : {}) } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      // The server may close while we are still writing: its answer is what counts.
      req.on('error', (err) => setImmediate(() => reject(err)));
      const chunk = Buffer.from(`${' '.repeat(1023)}\n`.repeat(1024));
      let sent = 0;
      const write = (): void => {
        while (sent < bytes) {
          const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
          sent += piece.length;
          if (!req.write(piece)) {
            req.once('drain', write);
            return;
          }
        }
        req.end();
      };
      write();
    });
  }

  it('reads up to 64 MiB and answers 413 beyond, declared or not', async () => {
    expect(await sendLarge(IMPORT_BODY_LIMIT_BYTES, false)).toBe(200);
    expect(await sendLarge(IMPORT_BODY_LIMIT_BYTES + 1, true)).toBe(413);
    expect(await sendLarge(IMPORT_BODY_LIMIT_BYTES + 1024 * 1024, false)).toBe(413);
    // Every other route keeps its 1 MiB limit.
    const big = await t.admin('POST', '/v1/recipients', JSON.stringify({ type: 'webhook', url: 'https://hooks.example/a', description: 'x'.repeat(1024 * 1024) }));
    expect(big.status).toBe(413);
  });

  it('takes a 100,000-line list with a few bad lines: refused whole by default, the rest imported with ?skip_invalid=true', async () => {
    const total = 100_000;
    const bad = new Map([
      [1_234, '{"type": "webhook", "url": "ftp://hooks.example/x", "secret": "SECRET"}'],
      [50_000, 'not json'],
      [99_999, '{"type": "email", "address": "nobody@example.org", "consent_confirmed": true, "tlp": "RED"}'],
    ]);
    const lines: string[] = [];
    for (let n = 1; n <= total; n++) {
      lines.push(bad.get(n)?.replace('"SECRET"', JSON.stringify(SECRET)) ?? JSON.stringify({ type: 'email', address: `subscriber-${n}@example.org`, consent_confirmed: true, groups: n % 10 === 0 ? ['distros'] : [] }));
    }
    const body = `${lines.join('\n')}\n`;

    const refused = await importBody(t, body, 'application/x-ndjson');
    expect(refused.status).toBe(400);
    expect(refused.json.error.rejected.map((r: { line: number }) => r.line)).toEqual([1_234, 50_000, 99_999]);
    expect(await list(t)).toHaveLength(0);
    expect(await spoolFiles(t)).toEqual([]);

    const taken = await importBody(t, body, 'application/x-ndjson', '?skip_invalid=true');
    expect(taken.status).toBe(200);
    expect(taken.json).toMatchObject({ imported: total - bad.size, updated: 0 });
    expect(taken.json.rejected.map((r: { line: number; field: string }) => [r.line, r.field])).toEqual([
      [1_234, 'url'],
      [50_000, '(line)'],
      [99_999, 'tlp'],
    ]);
    const all = await list(t);
    expect(all).toHaveLength(total - bad.size);
    // Every tenth line asks for the group, but for line 50,000, which is one of the bad ones.
    expect(all.filter((r) => (r.groups as string[]).includes('distros'))).toHaveLength(total / 10 - 1);
    expect(await spoolFiles(t)).toEqual([]);
  }, 120_000);
});
