import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { deleteRedisPrefix } from './redis-prefix';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/log';
import type { ResolveHost } from '../../src/net/resolve-host';
import { systemRuntimeDeps, type RuntimeDeps } from '../../src/runtime/runtime-deps';
import { startApi, type RunningApi } from '../../src/runtime/start-api';
import { startWorkers, type RunningWorkers } from '../../workers/start-workers';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface HarnessOptions {
  /** Armored public keys to enrol as publishers before start. */
  publishers?: string[];
  /** Environment over the harness defaults; `undefined` unsets a default (e.g. TOCSIN_ALLOW_PRIVATE_TARGETS). */
  env?: Record<string, string | undefined>;
  /** Start the delivery workers too (default true). */
  workers?: boolean;
  /** Answers the host-name lookups of both the API and the workers, as a DNS server would (default: the system resolver). */
  resolveHost?: ResolveHost;
  /** The API's wall clock for what expires (subscription links); default Date.now. */
  now?: () => number;
  /** How the API sends a subscription mail again that no relay took (default: 5 attempts, 30 s doubling). */
  subscriptionMailRetry?: RuntimeDeps['subscriptionMailRetry'];
  /** The API's budget for delivery lists (default: the real one's, 100,000 recipients and 10 s). */
  viewBudgets?: RuntimeDeps['viewBudgets'];
  /** Where the API's and workers' log lines go (default stdout); set LOG_LEVEL in `env` to have any. */
  logDestination?: DestinationStream;
}

/**
 * A real tocsin (API and workers, in this process) on real Redis, with its own key prefix and
 * temporary directories so that tests never see each other's queues or archives.
 */
export async function startTocsin(options: HarnessOptions = {}) {
  const root = await mkdtemp(path.join(tmpdir(), 'tocsin-test-'));
  const keysDir = path.join(root, 'keys');
  await mkdir(path.join(keysDir, 'publishers'), { recursive: true });
  for (const [i, key] of (options.publishers ?? []).entries()) {
    await writeFile(path.join(keysDir, 'publishers', `publisher-${i}.asc`), key);
  }
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  const config: Config = loadConfig({
    PORT: '0',
    TOCSIN_HOST: '127.0.0.1',
    TOCSIN_DATA_DIR: path.join(root, 'data'),
    TOCSIN_KEYS_DIR: keysDir,
    TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
    TOCSIN_ALLOW_PRIVATE_TARGETS: '1',
    TOCSIN_QUEUE_PREFIX: prefix,
    TOCSIN_RETRY_BASE_MS: '100',
    TOCSIN_RETRY_MAX_MS: '400',
    // The timeline compressed like the retries: an outage's circuit probes again within a second.
    TOCSIN_BREAKER_COOLDOWN_MS: '500',
    TOCSIN_BREAKER_MAX_COOLDOWN_MS: '1000',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const log = createLogger(config.logLevel, options.logDestination ? { destination: options.logDestination } : {});
  const deps: RuntimeDeps = {
    ...systemRuntimeDeps,
    ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.subscriptionMailRetry ? { subscriptionMailRetry: options.subscriptionMailRetry } : {}),
    ...(options.viewBudgets ? { viewBudgets: options.viewBudgets } : {}),
  };
  let api: RunningApi = await startApi(config, log, deps);
  let workers: RunningWorkers | null = options.workers === false ? null : await startWorkers(config, log, deps);
  let url = `http://127.0.0.1:${api.port}`;

  async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, text, json: json as Record<string, any> };
  }

  return {
    get url() {
      return url;
    },
    root,
    config,
    get api() {
      return api;
    },
    /** Stops the API process's part and starts it again on the same data dir and Redis prefix (a new port). */
    async restartApi(): Promise<void> {
      await api.close();
      api = await startApi(config, log, deps);
      url = `http://127.0.0.1:${api.port}`;
    },
    /** Stops the delivery workers and starts them again (started when there were none). */
    async restartWorkers(): Promise<void> {
      await workers?.close();
      workers = await startWorkers(config, log, deps);
    },
    call,
    admin: (method: string, p: string, body?: unknown) => call(method, p, body, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    /** Enrols a webhook recipient and returns its id and secret. */
    async addWebhook(targetUrl: string, secret?: string): Promise<{ id: string; secret: string }> {
      const r = await call('POST', '/v1/recipients', { type: 'webhook', url: targetUrl, ...(secret ? { secret } : {}) }, { authorization: `Bearer ${ADMIN_TOKEN}` });
      if (r.status !== 201) throw new Error(`enrolling ${targetUrl}: ${r.status} ${r.text}`);
      return { id: r.json.id as string, secret: (secret ?? r.json.secret) as string };
    },
    async close() {
      await workers?.close();
      await api.close();
      await deleteRedisPrefix(config.redisUrl, prefix);
      await rm(root, { recursive: true, force: true });
    },
  };
}
export type Tocsin = Awaited<ReturnType<typeof startTocsin>>;
