import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI } from '../support/cli';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS = 'redis://127.0.0.1:6379';
const ADMIN_TOKEN = 'terminal-admin-token-no-shape-41';
const SLACK_SHAPED = 'xoxb-terminal-0123456789';

/**
 * `tocsin serve` on a pseudo-terminal, as `npm start` in a shell runs it: util-linux `script`
 * gives it one and copies what it prints. Resolves once the API listens, with all it printed.
 */
async function serveOnTerminal(env: Record<string, string>): Promise<string> {
  const command = `exec '${process.execPath}' '${CLI}' serve`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  try {
    await eventually(async () => out.includes('tocsin API listening'), 30_000, `serve listening (printed: ${out})`);
  } finally {
    // script ends the program it runs when it is told to stop.
    child.kill('SIGTERM');
    await exited;
  }
  // The terminal's line ends, and colours: what a person sees, as text.
  // eslint-disable-next-line no-control-regex
  return out.replace(/\r/g, '').replace(/\x1b\[[0-9;]*m/g, '');
}

describe('logs on a terminal', () => {
  let root: string;
  const prefix = `t-${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tocsin-tty-'));
  });
  afterAll(async () => {
    await deleteRedisPrefix(REDIS, prefix);
    await rm(root, { recursive: true, force: true });
  });

  /** A fresh installation; its keys directory's name holds a configured secret and a secret shape, which the first-start warning prints. */
  async function env(name: string, extra: Record<string, string> = {}) {
    const keys = path.join(root, name, `keys-${ADMIN_TOKEN}-${SLACK_SHAPED}`);
    await mkdir(path.join(keys, 'publishers'), { recursive: true });
    return {
      PORT: String(await freePort()),
      TOCSIN_HOST: '127.0.0.1',
      REDIS_URL: REDIS,
      TOCSIN_QUEUE_PREFIX: prefix,
      TOCSIN_DATA_DIR: path.join(root, name, 'data'),
      TOCSIN_KEYS_DIR: keys,
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_MIRROR_AUTO: '0',
      ...extra,
    };
  }

  it('prints readable lines, scrubbed of secrets, when stdout is a terminal', async () => {
    const out = await serveOnTerminal(await env('auto'));
    expect(out).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO \(tocsin\): tocsin API listening$/m);
    expect(out).toMatch(/^\[[^\]]+\] WARN \(tocsin\): \*\*\* CREATED A DEVELOPMENT BROADCASTER KEY/m);
    expect(out.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    // The keys directory is printed, without the secrets in its name.
    expect(out).toMatch(/keysDir: ".*keys-\[redacted\]-xox-\[redacted\]"/);
    for (const secret of [ADMIN_TOKEN, SLACK_SHAPED]) expect({ secret, printed: out.includes(secret) }).toEqual({ secret, printed: false });
  });

  it('prints JSON on a terminal when TOCSIN_LOG_FORMAT=json', async () => {
    const out = await serveOnTerminal(await env('json', { TOCSIN_LOG_FORMAT: 'json' }));
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toContain('tocsin API listening');
    expect(out).not.toContain('INFO (tocsin)');
  });
});
