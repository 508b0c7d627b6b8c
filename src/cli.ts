#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from './config';
import { configSecrets, createLogger } from './log';
import { CliFailure, keysInit, publish, signFile, verify } from './cli/commands';
import { auditVerify } from './cli/audit-commands';
import { keysRevoke, keysRotate } from './cli/key-commands';
import { mirrorBuild, mirrorPush } from './cli/mirror-commands';
import { publishersAdd, publishersList, publishersRemove } from './cli/publisher-commands';
import { listFailed, replayFailed, type ListOptions, type ReplayOptions } from './cli/deliveries-commands';
import { startLocalRedisIfNeeded, type LocalRedis } from './runtime/local-redis';
import { StartupError } from './runtime/startup-error';
import { startApi } from './runtime/start-api';
import { startWorkers } from '../workers/start-workers';

/**
 * Runs until SIGTERM or SIGINT, then closes what it started: in-flight jobs finish first, and a
 * Redis that `start` started for itself stops last.
 */
async function runUntilSignal(config: Config, parts: { api: boolean; workers: boolean; localRedis: boolean }): Promise<void> {
  const log = createLogger(config.logLevel, { secrets: configSecrets(config) });
  // Taken from the first moment: a signal while starting waits for the start to finish, then
  // stops what started (Node's default would end the process and leave a local Redis behind).
  let signalled: string | null = null;
  let started = false;
  const closers: (() => Promise<void>)[] = [];
  let localRedis: LocalRedis | null = null;
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping: finishing in-flight work');
    Promise.all(closers.map((c) => c()))
      .then(() => localRedis?.stop())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  const onSignal = (signal: string) => {
    if (signalled) return;
    signalled = signal;
    if (started) stop(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  if (parts.localRedis) localRedis = await startLocalRedisIfNeeded(config, log);
  if (parts.api) closers.push((await startApi(config, log)).close);
  if (parts.workers) closers.push((await startWorkers(config, log)).close);
  started = true;
  if (signalled) stop(signalled);
}

function timeoutSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliFailure(`--timeout must be a positive number of seconds, not ${value}`, 2);
  return seconds;
}

/** A number of days, 0 or more (fractions allowed). */
function days(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || !/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('must be a number of days, 0 or more');
  return n;
}

function config(): Config {
  return loadConfig(process.env);
}

/** Every command and option; exported so that a test can compare them with the README. */
export const program = new Command()
  .name('tocsin')
  .description('Out-of-band emergency advisory broadcaster')
  .showHelpAfterError();

program
  .command('start')
  .description('run the API and the delivery workers in one process (with REDIS_URL unset and no Redis there, starting a redis-server of its own)')
  .action(() => runUntilSignal(config(), { api: true, workers: true, localRedis: true }));
program.command('serve').description('run the API only').action(() => runUntilSignal(config(), { api: true, workers: false, localRedis: false }));
program.command('worker').description('run the delivery workers only').action(() => runUntilSignal(config(), { api: false, workers: true, localRedis: false }));

const keys = program.command('keys').description('manage the broadcaster key');
keys
  .command('init')
  .description('create the broadcaster key pair and a revocation certificate under TOCSIN_KEYS_DIR')
  .option('--force', 'replace an existing key')
  .option('--expires-days <n>', 'days until the key expires, 0 for never', days, 730)
  .action((opts: { force?: boolean; expiresDays: number }) => keysInit(config(), Boolean(opts.force), opts.expiresDays));
keys
  .command('rotate')
  .description('replace the broadcaster key: the old key certifies the new one, both sign a transition statement, both sign notices during the overlap')
  .option('--overlap-days <n>', 'days both keys sign every notice', days, 30)
  .option('--expires-days <n>', 'days until the new key expires, 0 for never', days, 730)
  .option('--force', "rotate even while the last rotation's overlap runs (that older key stops signing at once)")
  .action((opts: { overlapDays: number; expiresDays: number; force?: boolean }) =>
    keysRotate(config(), { overlapDays: opts.overlapDays, expiresDays: opts.expiresDays, force: Boolean(opts.force) }),
  );
keys
  .command('revoke')
  .description('publish the revocation certificate of the current broadcaster key; the API stops signing until a new key exists')
  .option('--cert <file>', 'the revocation certificate (default: TOCSIN_KEYS_DIR/private/broadcaster-revocation.asc)')
  .action((opts: { cert?: string }) => keysRevoke(config(), opts));

program
  .command('sign')
  .description('write FILE.asc, a detached armored signature over FILE (like gpg --detach-sign --armor)')
  .argument('<file>')
  .requiredOption('--key <secret.asc>', 'armored private key (passphrase from TOCSIN_SIGN_PASSPHRASE)')
  .action(async (file: string, opts: { key: string }) => {
    console.log(await signFile(file, opts.key, process.env.TOCSIN_SIGN_PASSPHRASE));
  });

program
  .command('publish')
  .description('submit a signed advisory to a tocsin server')
  .argument('<file>')
  .requiredOption('--sig <file.asc>', 'detached signature (repeat for several publishers)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .requiredOption('--url <url>', 'the tocsin server, e.g. http://localhost:8080')
  .option('--timeout <seconds>', 'give up when the server has not answered within this many seconds', '30')
  .action((file: string, opts: { sig: string[]; url: string; timeout: string }) => publish(file, opts.sig, opts.url, undefined, timeoutSeconds(opts.timeout)));

program
  .command('verify')
  .description("check tocsin's signature on a notice; exit 0 only when valid")
  .argument('<file>', 'a webhook body, an API advisory, or a document with FILE.asc beside it')
  .option('--key <broadcaster.asc>', "tocsin's public key (default: TOCSIN_KEYS_DIR/broadcaster.asc)")
  .option('--sig <file.asc>', 'detached signature, when FILE is the bare document (default: FILE.asc)')
  .option(
    '--transition <transition.json>',
    'a key transition statement (its signatures in FILE.asc) from a key you trust to a new key; repeat for a chain',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .action((file: string, opts: { key?: string; sig?: string; transition: string[] }) => verify(file, opts, config()));

const publishers = program.command('publishers').description('enrol, list and remove publisher keys through the admin API (token from TOCSIN_ADMIN_TOKEN)');
publishers
  .command('add')
  .description('enrol the armored public key in FILE')
  .argument('<file>')
  .requiredOption('--actor <name>', 'who is making this change (recorded in the audit log)')
  .requiredOption('--url <url>', 'the tocsin server, e.g. http://localhost:8080')
  .action((file: string, opts: { actor: string; url: string }) => publishersAdd(file, opts.actor, opts.url, config().adminToken));
publishers
  .command('remove')
  .description('remove the publisher with this fingerprint')
  .argument('<fingerprint>')
  .requiredOption('--actor <name>', 'who is making this change (recorded in the audit log)')
  .requiredOption('--url <url>', 'the tocsin server, e.g. http://localhost:8080')
  .action((fingerprint: string, opts: { actor: string; url: string }) => publishersRemove(fingerprint, opts.actor, opts.url, config().adminToken));
publishers
  .command('list')
  .description('list the enrolled publishers and the audit head')
  .requiredOption('--url <url>', 'the tocsin server, e.g. http://localhost:8080')
  .action((opts: { url: string }) => publishersList(opts.url, config().adminToken));

const audit = program.command('audit').description('the publisher audit log');
audit
  .command('verify')
  .description('check the hash chain of the audit log end to end; exit 1 naming the first bad line')
  .option('--data-dir <dir>', 'where audit.jsonl lives (default: TOCSIN_DATA_DIR)')
  .option('--keys-dir <dir>', 'compare with the key files under DIR/publishers (default: TOCSIN_KEYS_DIR)')
  .option('--expect-head <hash>', 'a head hash recorded earlier, out of band, that must still be in the chain')
  .action((opts: { dataDir?: string; keysDir?: string; expectHead?: string }) => {
    const c = config();
    return auditVerify({ dataDir: opts.dataDir ?? c.dataDir, keysDir: opts.keysDir ?? c.keysDir, ...(opts.expectHead ? { expectHead: opts.expectHead } : {}) });
  });
const deliveries = program.command('deliveries').description('dead letters: deliveries that failed after the whole retry schedule (admin API, token from TOCSIN_ADMIN_TOKEN)');
deliveries
  .command('list')
  .description('list failed deliveries')
  .option('--failed', 'failed deliveries (the only kind listed here: required)')
  .requiredOption('--url <url>', 'the tocsin server, e.g. http://localhost:8080')
  .option('--advisory <id>', 'only this advisory')
  .option('--revision <n>', 'only this revision (with --advisory)')
  .option('--channel <channel>', 'only webhook, email, slack or mastodon')
  .option('--json', 'print the API answer as JSON')
  .action(async (opts: ListOptions & { failed?: boolean; url: string }) => {
    if (!opts.failed) throw new CliFailure('say --failed: only failed deliveries are listed (GET /v1/advisories/ID/deliveries shows every state)', 2);
    await listFailed({ url: opts.url, token: config().adminToken }, opts);
  });
deliveries
  .command('replay')
  .description('give failed deliveries a fresh retry schedule, with the same notice ids')
  .requiredOption('--url <url>', 'the tocsin server, e.g. http://localhost:8080')
  .option('--advisory <id>', "replay this advisory's failed deliveries")
  .option('--revision <n>', 'of this revision (default: the latest)')
  .option('--channel <channel>', 'only webhook, email, slack or mastodon')
  .option('--recipient <id>', 'only this recipient (repeat for several); each must be failed', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--all-failed', 'replay every failed delivery of every advisory')
  .option('--json', 'print the API answer as JSON')
  .action((opts: ReplayOptions & { url: string }) => replayFailed({ url: opts.url, token: config().adminToken }, opts));

const mirror = program.command('mirror').description('the static mirror: advisories, CSAF, OSV, feeds, verify.html');
mirror
  .command('build')
  .description('build the static mirror from the archive (TOCSIN_DATA_DIR), replacing DIR whole')
  .option('--out <dir>', 'where to write it (default: TOCSIN_MIRROR_DIR, or TOCSIN_DATA_DIR/mirror)')
  .action((opts: { out?: string }) => mirrorBuild(config(), opts.out));
mirror
  .command('push')
  .description('copy the built mirror to one or more target directories, each replaced whole')
  .argument('<target...>', 'directories a static web server or a sync tool serves from')
  .option('--from <dir>', 'the built mirror (default: TOCSIN_MIRROR_DIR, or TOCSIN_DATA_DIR/mirror)')
  .action((targets: string[], opts: { from?: string }) => mirrorPush(config(), targets, opts.from));

// Imported (by a test), it only builds the program; run as the bin, it parses argv.
if (require.main === module) {
  program.parseAsync(process.argv).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`tocsin: invalid configuration: ${err.problems.join('; ')} (see README "Configuration")`);
      process.exit(2);
    }
    // What is wrong and what to do, in one line: a stack trace would only hide it.
    if (err instanceof StartupError) {
      console.error(`tocsin: ${err.message}`);
      process.exit(1);
    }
    if (err instanceof CliFailure) {
      console.error(err.message);
      process.exit(err.exitCode);
    }
    console.error(`tocsin: ${(err as Error).message ?? String(err)}`);
    process.exit(1);
  });
}
