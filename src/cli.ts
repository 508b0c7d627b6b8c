#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from './config';
import { configSecrets, createLogger } from './log';
import { CliFailure, keysInit, signFile, verify } from './cli/commands';
import { auditVerify } from './cli/audit-commands';
import { keysRevoke, keysRotate } from './cli/key-commands';
import { mirrorBuild, mirrorPush } from './cli/mirror-commands';
import { publishersAdd, publishersList, publishersRemove } from './cli/publisher-commands';
import { showDrill, startDrill } from './cli/drill-commands';
import { listDeliveries, listFailed, replayFailed, watchDeliveries, type ListOptions, type ReplayOptions } from './cli/deliveries-commands';
import { advisoriesList, advisoriesShow } from './cli/advisory-commands';
import { intervalOption, oneOf, repeatable, repeatableOneOf, revisionOption, sha256Option } from './cli/cli-options';
import { publishCommand } from './cli/publish-command';
import { recipientsAdd, recipientsList, recipientsRemove, recipientsShow, recipientsUpdate, secretFromFile, type AddOptions, type UpdateOptions } from './cli/recipient-commands';
import { recipientsExport, recipientsImport, TRANSFER_FORMATS, type TransferFormat } from './cli/recipient-transfer-commands';
import { filterableKinds } from './recipients/recipient';
import { incidentStates, severities, type IncidentState } from './advisory/schema';
import { statusPost } from './cli/status-command';
import { tlpLabels } from './advisory/tlp';
import { serverUrl } from './cli/server-url';
import { tocsinVersion } from './cli/version';
import { startLocalRedisIfNeeded, type LocalRedis } from './runtime/local-redis';
import { StartupError } from './runtime/startup-error';
import { startApi } from './runtime/start-api';
import { startWorkers } from '../workers/start-workers';

/**
 * Runs until SIGTERM or SIGINT, then closes what it started: in-flight jobs finish first, and a
 * Redis that `start` started for itself stops last.
 */
async function runUntilSignal(config: Config, parts: { api: boolean; workers: boolean; localRedis: boolean }): Promise<void> {
  const log = createLogger(config.logLevel, { secrets: configSecrets(config), format: config.logFormat });
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

/** `--url`, else TOCSIN_URL. */
function url(opts: { url?: string }): string {
  return serverUrl(opts.url, () => config().serverUrl);
}

/** The admin API: the server, and the token from TOCSIN_ADMIN_TOKEN. */
function admin(opts: { url?: string }) {
  return { url: url(opts), token: config().adminToken };
}

const URL_HELP = 'the tocsin server, e.g. http://localhost:8080 (default: TOCSIN_URL)';
/** Off a terminal, a progress line every 5 s: often enough to see it move, rarely enough for a log. */
const DEFAULT_LINE_EVERY_MS = 5000;
const INTERVAL_HELP = 'when output is not a terminal, seconds between two progress lines (default 5)';

/** Every command and option; exported so that a test can compare them with the README. */
export const program = new Command()
  .name('tocsin')
  .description('Out-of-band emergency advisory broadcaster')
  .showHelpAfterError()
  .version(tocsinVersion(), '-V, --version', "print tocsin's version")
  // A command line commander refuses is bad usage: exit 2, as for every other usage error.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

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
  .option('--url <url>', URL_HELP)
  .option('--timeout <seconds>', 'give up when the server has not answered within this many seconds', '30')
  .option('--wait', 'after the 202, show the deliveries per channel live until no first attempt is pending; exit 3 unless all were delivered')
  .option('--interval <seconds>', INTERVAL_HELP, intervalOption)
  .option('--json', 'with --wait: print {submission, deliveries} as JSON at the end, the live progress on stderr')
  .action((file: string, opts: { sig: string[]; url?: string; timeout: string; wait?: boolean; interval?: number; json?: boolean }) =>
    publishCommand(file, {
      sig: opts.sig,
      url: url(opts),
      timeoutSeconds: timeoutSeconds(opts.timeout),
      wait: Boolean(opts.wait),
      json: Boolean(opts.json),
      lineEveryMs: opts.interval ?? DEFAULT_LINE_EVERY_MS,
    }),
  );

const status = program.command('status').description('incident status updates (kind "status")');
status
  .command('post')
  .description('compose an incident status update, sign it and publish it, in one command')
  .requiredOption('--incident <slug>', 'the incident, e.g. mail-relay-outage: every update of it is a revision of this id')
  .requiredOption('--state <state>', `${incidentStates.join(', ')}`, oneOf(incidentStates))
  .requiredOption('--title <text>', 'one line')
  .requiredOption('--summary <text>', 'what is known and what is being done')
  .option('--affected-service <name>', 'a service affected (repeat for several)', repeatable)
  .option('--next-update-by <time>', 'when the next update is promised, RFC 3339, e.g. 2026-12-02T11:00:00Z')
  .option('--revision <n>', 'which update this is (default: one after the latest the server shows, or 1)', revisionOption)
  .requiredOption('--sign <key>', 'an armored secret key file (passphrase from TOCSIN_SIGN_PASSPHRASE), or else a gpg key id or fingerprint: gpg signs')
  .option('--out <file>', 'where the signed document is kept (default INCIDENT-REVISION.json, its signature beside it)')
  .option('--url <url>', URL_HELP)
  .option('--timeout <seconds>', 'give up when the server has not answered within this many seconds', '30')
  .action(
    (opts: { incident: string; state: IncidentState; title: string; summary: string; affectedService?: string[]; nextUpdateBy?: string; revision?: number; sign: string; out?: string; url?: string; timeout: string }) =>
      statusPost({
        incident: opts.incident,
        state: opts.state,
        title: opts.title,
        summary: opts.summary,
        affectedServices: opts.affectedService ?? [],
        nextUpdateBy: opts.nextUpdateBy,
        revision: opts.revision,
        sign: opts.sign,
        out: opts.out,
        url: url(opts),
        timeoutSeconds: timeoutSeconds(opts.timeout),
        passphrase: process.env.TOCSIN_SIGN_PASSPHRASE,
        lineEveryMs: DEFAULT_LINE_EVERY_MS,
      }),
  );

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
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON (as without it)")
  .action((file: string, opts: { actor: string; url?: string }) => publishersAdd(file, opts.actor, url(opts), config().adminToken));
publishers
  .command('remove')
  .description('remove the publisher with this fingerprint')
  .argument('<fingerprint>')
  .requiredOption('--actor <name>', 'who is making this change (recorded in the audit log)')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON (as without it)")
  .action((fingerprint: string, opts: { actor: string; url?: string }) => publishersRemove(fingerprint, opts.actor, url(opts), config().adminToken));
publishers
  .command('list')
  .description('list the enrolled publishers and the audit head')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((opts: { url?: string; json?: boolean }) => publishersList(url(opts), config().adminToken, { json: Boolean(opts.json) }));

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
const deliveries = program.command('deliveries').description("every advisory's deliveries as the receipts record them, and dead letters: deliveries that failed after the whole retry schedule (admin API, token from TOCSIN_ADMIN_TOKEN)");
deliveries
  .command('list')
  .description("list an advisory's deliveries in every state (--advisory ID), or the failed ones of every advisory (--failed)")
  .option('--failed', 'only failed deliveries (dead letters), of every advisory unless --advisory names one')
  .option('--url <url>', URL_HELP)
  .option('--advisory <id>', 'only this advisory; without --failed, every recipient of it, whatever the state')
  .option('--revision <n>', 'only this revision (with --advisory; default without --failed: the latest)')
  .option('--channel <channel>', 'with --failed: only webhook, email, slack or mastodon')
  .option('--json', 'print the API answer as JSON')
  .action(async (opts: ListOptions & { failed?: boolean; url?: string }) => {
    if (opts.failed) return listFailed(admin(opts), opts);
    if (opts.advisory === undefined) throw new CliFailure('say --advisory ID (every delivery of it) or --failed (dead letters of every advisory)', 2);
    if (opts.channel !== undefined) throw new CliFailure('--channel needs --failed: --advisory alone lists every channel', 2);
    return listDeliveries(admin(opts), { ...opts, advisory: opts.advisory });
  });
deliveries
  .command('replay')
  .description('give failed deliveries a fresh retry schedule, with the same notice ids')
  .option('--url <url>', URL_HELP)
  .option('--advisory <id>', "replay this advisory's failed deliveries")
  .option('--revision <n>', 'of this revision (default: the latest)')
  .option('--channel <channel>', 'only webhook, email, slack or mastodon')
  .option('--recipient <id>', 'only this recipient (repeat for several); each must be failed', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--all-failed', 'replay every failed delivery of every advisory')
  .option('--json', 'print the API answer as JSON')
  .action((opts: ReplayOptions & { url?: string }) => replayFailed(admin(opts), opts));
deliveries
  .command('watch')
  .description("show an advisory's deliveries per channel live, as publish --wait does, until no first attempt is pending; exit 3 unless all were delivered")
  .argument('<id>')
  .option('--revision <n>', 'this revision (default: the latest)', revisionOption)
  .option('--sha256 <hex>', "the signed document's SHA-256: follows a revision not yet public (embargoed, above TLP:CLEAR) without the admin token, as publish --wait does", sha256Option)
  .option('--url <url>', URL_HELP)
  .option('--interval <seconds>', INTERVAL_HELP, intervalOption)
  .option('--json', "print the API's last answer as JSON at the end, the live progress on stderr")
  .action((id: string, opts: { revision?: number; sha256?: string; url?: string; interval?: number; json?: boolean }) =>
    watchDeliveries({ url: url(opts), token: config().adminToken }, id, {
      ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
      ...(opts.sha256 !== undefined ? { sha256: opts.sha256 } : {}),
      json: Boolean(opts.json),
      lineEveryMs: opts.interval ?? DEFAULT_LINE_EVERY_MS,
    }),
  );

const drill = program
  .command('drill')
  .description('rehearse the worst day: send a drill notice through the whole path to every recipient, or the channels and group named (admin API, token from TOCSIN_ADMIN_TOKEN)')
  .option('--channels <list>', 'only these channels, comma-separated: webhook,email,slack,mastodon (default: every channel)')
  .option('--group <name>', 'only recipients in this group (default: every recipient)')
  .option('--wait', 'follow the deliveries live until no first attempt is pending, then print the report; exit 3 unless all were delivered')
  .option('--url <url>', URL_HELP)
  .option('--interval <seconds>', INTERVAL_HELP, intervalOption)
  .option('--json', 'print the API answer (with --wait: the report) as JSON, the live progress on stderr')
  .action((opts: { channels?: string; group?: string; wait?: boolean; url?: string; interval?: number; json?: boolean }) =>
    startDrill(admin(opts), {
      ...(opts.channels !== undefined ? { channels: opts.channels } : {}),
      ...(opts.group !== undefined ? { group: opts.group } : {}),
      wait: Boolean(opts.wait),
      json: Boolean(opts.json),
      lineEveryMs: opts.interval ?? DEFAULT_LINE_EVERY_MS,
    }),
  );
drill
  .command('show')
  .description("a drill's report: per channel recipients, delivered, failed, retrying, times from acceptance, acknowledgements, every failure with its reason")
  .argument('<id>')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((id: string, own: { url?: string; json?: boolean }) => {
    // `drill` takes --url and --json too, and commander gives them to it wherever they stand.
    const opts = { ...drill.opts<{ url?: string; json?: boolean }>(), ...own };
    return showDrill(admin(opts), id, { json: Boolean(opts.json) });
  });

const recipients = program.command('recipients').description('enrol, list, show, update and remove recipients through the admin API (token from TOCSIN_ADMIN_TOKEN)');
const add = recipients.command('add').description('enrol a recipient: webhook, email, slack or mastodon');
/** Who receives what (coordinated disclosure): `recipients add TYPE` and `recipients update` take these. */
function routingOptions(command: Command, groupHelp: string): Command {
  return command
    .option('--group <name>', groupHelp, repeatable)
    .option('--tlp <label>', `the most restricted TLP label it may receive: ${tlpLabels.join(', ')} (Mastodon: CLEAR only)`, oneOf(tlpLabels))
    .option('--product <name>', 'filter: only advisories naming this product or purl (repeat for several)', repeatable)
    .option('--min-severity <severity>', `filter: only advisories at least this severe (${[...severities].reverse().join(', ')})`, oneOf(severities))
    .option('--kind <kind>', `filter: only documents of this kind, ${filterableKinds.join(', ')} (repeat for several; leaving out status opts out of incident status updates)`, repeatableOneOf(filterableKinds));
}
/** The options every `recipients add TYPE` takes. */
function addCommand(name: string, description: string) {
  return routingOptions(add.command(name), "a group it is in, which an embargoed advisory's audience may name (repeat for several)")
    .description(description)
    .option('--description <text>', 'who this is, for the operators (up to 200 characters)')
    .option('--url <url>', URL_HELP)
    .option('--json', "print the API's answer as JSON");
}
addCommand('webhook', 'a partner endpoint; a secret is generated and printed once unless --secret-file gives one')
  .argument('<url>', "the partner's https URL")
  .option('--secret-file <file>', 'the whsec_... signing secret agreed with the partner (not on the command line: argv is visible in ps)')
  .action(async (target: string, opts: AddOptions & { url?: string; secretFile?: string }) =>
    recipientsAdd(admin(opts), { type: 'webhook', url: target, ...(opts.secretFile ? { secret: await secretFromFile(opts.secretFile, '--secret-file') } : {}) }, opts),
  );
addCommand('email', 'a mailbox (needs TOCSIN_SMTP_URLS on the server)')
  .argument('<address>')
  .action((address: string, opts: AddOptions & { url?: string }) => recipientsAdd(admin(opts), { type: 'email', address }, opts));
addCommand('slack', 'a Slack channel, posted to with a bot token')
  .argument('<channel-id>', 'e.g. C0123456')
  .requiredOption('--token-file <file>', 'holds the xoxb-... token (not on the command line: argv is visible in ps)')
  .option('--api-url <url>', 'the Web API base (default https://slack.com/api/; GovSlack: https://slack-gov.com/api/)')
  .action(async (channelId: string, opts: AddOptions & { url?: string; tokenFile: string; apiUrl?: string }) =>
    recipientsAdd(
      admin(opts),
      { type: 'slack', channel_id: channelId, token: await secretFromFile(opts.tokenFile, '--token-file'), ...(opts.apiUrl ? { api_url: opts.apiUrl } : {}) },
      opts,
    ),
  );
addCommand('mastodon', 'a Mastodon account, posted to with an access token')
  .argument('<instance-url>', 'e.g. https://mastodon.example')
  .requiredOption('--access-token-file <file>', 'holds the access token (not on the command line: argv is visible in ps)')
  .action(async (instanceUrl: string, opts: AddOptions & { url?: string; accessTokenFile: string }) =>
    recipientsAdd(admin(opts), { type: 'mastodon', instance_url: instanceUrl, access_token: await secretFromFile(opts.accessTokenFile, '--access-token-file') }, opts),
  );
recipients
  .command('list')
  .description('one line per recipient, secrets never shown')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((opts: { url?: string; json?: boolean }) => recipientsList(admin(opts), opts));
recipients
  .command('show')
  .description('every field of one recipient, secrets never shown')
  .argument('<id>')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((id: string, opts: { url?: string; json?: boolean }) => recipientsShow(admin(opts), id, opts));
routingOptions(recipients.command('update'), 'its groups become exactly these (repeat for several)')
  .description("change who a recipient receives what from: each of groups, tlp and filter named replaces the old one whole, the rest stays")
  .argument('<id>')
  .option('--no-groups', 'remove it from every group')
  .option('--no-filter', 'remove its filter: it receives every advisory its tlp and groups allow')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((id: string, opts: UpdateOptions & { url?: string }) => recipientsUpdate(admin(opts), id, opts));
recipients
  .command('remove')
  .description('remove a recipient: it receives no further notices')
  .argument('<id>')
  .option('--url <url>', URL_HELP)
  .option('--json', 'print {id, removed: true} as JSON')
  .action((id: string, opts: { url?: string; json?: boolean }) => recipientsRemove(admin(opts), id, opts));

/** `--format`, checked as commander reads it. */
const transferFormat = oneOf(TRANSFER_FORMATS);
recipients
  .command('import')
  .description('enrol or update many recipients from an NDJSON or CSV file (README: "Importing and exporting recipients"); all or nothing unless --skip-invalid')
  .argument('<file>', 'one POST /v1/recipients body per line (.ndjson, .jsonl) or a CSV with a header row (.csv)')
  .option('--format <format>', `${TRANSFER_FORMATS.join(' or ')} (default: from the file's extension)`, transferFormat)
  .option('--skip-invalid', 'import the good lines and list each refused one, instead of refusing the whole file')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((file: string, opts: { format?: TransferFormat; skipInvalid?: boolean; url?: string; json?: boolean }) => recipientsImport(admin(opts), file, opts));
recipients
  .command('export')
  .description('every recipient on stdout, in the format import reads, without secrets (import it again to update those recipients)')
  .option('--format <format>', `${TRANSFER_FORMATS.join(' or ')} (default ndjson)`, transferFormat)
  .option('--url <url>', URL_HELP)
  .action((opts: { format?: TransferFormat; url?: string }) => recipientsExport(admin(opts), opts));

const advisories = program.command('advisories').description('read accepted advisories (public API, no token)');
advisories
  .command('list')
  .description('the latest revision of each advisory, newest first')
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((opts: { url?: string; json?: boolean }) => advisoriesList({ url: url(opts) }, opts));
advisories
  .command('show')
  .description('one advisory: its record, then the document exactly as signed')
  .argument('<id>')
  .option('--revision <n>', 'this revision (default: the latest)', revisionOption)
  .option('--url <url>', URL_HELP)
  .option('--json', "print the API's answer as JSON")
  .action((id: string, opts: { url?: string; revision?: number; json?: boolean }) => advisoriesShow({ url: url(opts) }, id, opts));

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
