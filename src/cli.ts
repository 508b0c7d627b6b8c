#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger } from './log';
import { CliFailure, keysInit, publish, signFile, verify } from './cli/commands';
import { RedisUnreachableError } from './runtime/redis-connection';
import { startApi } from './runtime/start-api';
import { startWorkers } from '../workers/start-workers';

/** Runs until SIGTERM or SIGINT, then closes what it started: in-flight jobs finish first. */
async function runUntilSignal(config: Config, parts: { api: boolean; workers: boolean }): Promise<void> {
  const log = createLogger(config.logLevel);
  const closers: (() => Promise<void>)[] = [];
  if (parts.api) closers.push((await startApi(config, log)).close);
  if (parts.workers) closers.push((await startWorkers(config, log)).close);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight work');
    Promise.all(closers.map((c) => c()))
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function config(): Config {
  return loadConfig(process.env);
}

const program = new Command()
  .name('tocsin')
  .description('Out-of-band emergency advisory broadcaster')
  .showHelpAfterError();

program.command('start').description('run the API and the delivery workers in one process').action(() => runUntilSignal(config(), { api: true, workers: true }));
program.command('serve').description('run the API only').action(() => runUntilSignal(config(), { api: true, workers: false }));
program.command('worker').description('run the delivery workers only').action(() => runUntilSignal(config(), { api: false, workers: true }));

const keys = program.command('keys').description('manage the broadcaster key');
keys
  .command('init')
  .description('create the broadcaster key pair and a revocation certificate under TOCSIN_KEYS_DIR')
  .option('--force', 'replace an existing key')
  .action((opts: { force?: boolean }) => keysInit(config(), Boolean(opts.force)));

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
  .action((file: string, opts: { sig: string[]; url: string }) => publish(file, opts.sig, opts.url));

program
  .command('verify')
  .description("check tocsin's signature on a notice; exit 0 only when valid")
  .argument('<file>', 'a webhook body, an API advisory, or a document with FILE.asc beside it')
  .option('--key <broadcaster.asc>', "tocsin's public key (default: TOCSIN_KEYS_DIR/broadcaster.asc)")
  .option('--sig <file.asc>', 'detached signature, when FILE is the bare document (default: FILE.asc)')
  .action((file: string, opts: { key?: string; sig?: string }) => verify(file, opts, config()));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  if (err instanceof RedisUnreachableError) {
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
