import { systemResolveHost } from '../../src/net/resolve-host';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { generateWebhookSecret } from '../../src/channels/standard-webhooks';
import { createWebhookChannel } from '../../src/channels/webhook';
import { program } from '../../src/cli';
import { envSchema } from '../../src/config';
import type { AppDeps } from '../../src/http/app';
import { appRoutes } from '../support/app-routes';
import { contractNotice } from '../contract/contract-notice';
import { noticeRenderers } from '../../src/notices/render-notices';
import { archivedDocument, renderContext, testBroadcaster, variantCases } from '../support/notice-fixture';
import { startReceiver } from '../support/webhook-receiver';

/**
 * Wire formats partners and users depend on are contracts, and each must be in README.md. These
 * read what the code registers (not its source text) and list what the README lacks, or names
 * but the code no longer has.
 */
const README = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
const lines = README.split('\n');

/** Whether each line is inside a ``` block, where `# ...` is a shell comment, not a heading. */
const inCode: boolean[] = [];
for (let fenced = false, i = 0; i < lines.length; i++) {
  if (lines[i]!.startsWith('```')) fenced = !fenced;
  inCode.push(fenced);
}

/** From the `## title` heading to the next heading of level 2 or 1. */
function section(title: string): string {
  const start = lines.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  const end = lines.findIndex((l, i) => i > start && !inCode[i] && /^##? /.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('README documents every contract', () => {
  it('every environment variable of the config schema, in a variable table (and no other)', () => {
    const read = Object.keys(envSchema.shape);
    // Tables whose header starts with "variable": first cells name the variables.
    const documented = new Set<string>();
    let inVariableTable = false;
    for (const line of lines) {
      if (!line.startsWith('|')) inVariableTable = false;
      else if (/^\| variable \|/.test(line)) inVariableTable = true;
      else if (inVariableTable) for (const m of (line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)) documented.add(m[1]!);
    }
    // Read by `tocsin sign` alone (src/cli.ts), not by the service's schema.
    const readOutsideSchema = ['TOCSIN_SIGN_PASSPHRASE'];
    expect(read.length).toBeGreaterThan(30);
    expect({
      undocumented: read.filter((v) => !documented.has(v)),
      documentedButNotRead: [...documented].filter((v) => !read.includes(v) && !readOutsideSchema.includes(v)),
    }).toEqual({ undocumented: [], documentedButNotRead: [] });
  });

  it('every HTTP route, with its method and path, in "HTTP API" (and no route that does not exist)', () => {
    // Building the app only registers routes: no handler runs, so the deps are never touched.
    const { routes, routersOutside } = appRoutes({} as AppDeps);
    // A router mounted outside mountedRouters() would be missed here: refuse to pass silently.
    expect({ routersMountedOutsideMountedRouters: routersOutside }).toEqual({ routersMountedOutsideMountedRouters: 0 });
    expect(routes.length).toBeGreaterThan(20);

    // `:name` in express is `:name` or `<name>` in the README; a query (`[?revision=N]`) may follow.
    const api = section('HTTP API');
    const pattern = (route: string) => escape(route).replace(/:(\w+)/g, '(?::$1|<$1>)');
    const undocumented = routes.filter((r) => !new RegExp(`(?<![\\w-])${pattern(r)}(?![\\w/.-])`).test(api));

    const shape = (route: string) => route.replace(/(:\w+|<\w+>)/g, '{}');
    const known = new Set(routes.map(shape));
    // `/api/…` paths are the Mastodon API that tocsin calls, not routes it serves.
    const named = [...README.matchAll(/(?<![\w-])(GET|POST|PUT|PATCH|DELETE) (\/[^\s`[?),]*)/g)].map((m) => `${m[1]} ${m[2]}`).filter((r) => !/^\w+ \/api\//.test(r));
    expect({ undocumented, documentedButNotServed: [...new Set(named)].filter((r) => !known.has(shape(r))) }).toEqual({ undocumented: [], documentedButNotServed: [] });
  });

  /** Every command by its words after `tocsin`, with its long options. */
  function commands(cmd: Command, words: string[] = []): { words: string[]; command: Command }[] {
    return cmd.commands.flatMap((sub) => {
      const w = [...words, sub.name()];
      return [{ words: w, command: sub }, ...commands(sub, w)];
    });
  }

  it('every CLI command and each of its long options, on one README line (and no option that does not exist)', () => {
    const all = commands(program);
    const options = all.flatMap(({ words, command }) => command.options.map((o) => ({ words, long: o.long! })));
    expect(all.length).toBeGreaterThan(15);
    expect(options.length).toBeGreaterThan(25);
    const mentions = (words: string[]) => new RegExp(`tocsin ${escape(words.join(' '))}(?![\\w-])`);
    const undocumentedCommands = all.filter(({ words }) => !lines.some((l) => mentions(words).test(l))).map(({ words }) => `tocsin ${words.join(' ')}`);
    const optionOn = (long: string) => new RegExp(`(?<![\\w-])${escape(long)}(?![\\w-])`);
    const undocumentedOptions = options
      .filter(({ words, long }) => !lines.some((l) => mentions(words).test(l) && optionOn(long).test(l)))
      .map(({ words, long }) => `tocsin ${words.join(' ')} ${long}`);

    // The other way: each `tocsin ...` in inline code or a code block names a command and its options.
    const invocations = [...README.matchAll(/`(?:[A-Z_]+=\S+ )*(tocsin [^`\n]*)`|^\s*(?:[A-Z_]+=\S+ )*(tocsin [^\n#]*)/gm)].map((m) => (m[1] ?? m[2])!.trim());
    expect(invocations.length).toBeGreaterThan(20);
    const documentedButNotRegistered = invocations.flatMap((text) => {
      const tokens = text.split(/\s+/).slice(1);
      let command: Command = program;
      for (let sub = command.commands.find((c) => c.name() === tokens[0]); sub; sub = command.commands.find((c) => c.name() === tokens[0])) {
        command = sub;
        tokens.shift();
      }
      if (command === program) return [`${text}: no such command`];
      const longs = new Set(command.options.map((o) => o.long));
      return [...text.matchAll(/(?<![\w-])--[a-z][\w-]*/g)].filter((m) => !longs.has(m[0])).map((m) => `${text}: no option ${m[0]}`);
    });
    expect({ undocumentedCommands, undocumentedOptions, documentedButNotRegistered }).toEqual({ undocumentedCommands: [], undocumentedOptions: [], documentedButNotRegistered: [] });
  });

  it('every header and top-level body field of a webhook request, in "Receiving webhooks"', async () => {
    const receiver = await startReceiver();
    const channel = createWebhookChannel({ timeoutMs: 10_000, allowPrivateTargets: true, userAgent: 'tocsin/test', resolveHost: systemResolveHost });
    const { broadcaster } = await testBroadcaster();
    try {
      const recipient = { id: 'rcpt_readme', type: 'webhook' as const, url: receiver.url(), secret: generateWebhookSecret() };
      await channel.send(await contractNotice('webhook'), recipient, new AbortController().signal);
      // Fields only some notices carry: under embargo, on an update, on a retraction.
      for (const c of variantCases()) {
        const notice = await noticeRenderers.webhook!(await archivedDocument(c.doc, broadcaster, c.record), renderContext(broadcaster, c.variant));
        await channel.send(notice, recipient, new AbortController().signal);
      }
    } finally {
      await channel.close();
      await receiver.close();
    }
    const request = receiver.requests[0]!;
    // Framing the HTTP client adds on its own says nothing a partner relies on.
    const framing = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);
    const headers = Object.keys(request.headers).filter((h) => !framing.has(h));
    const fields = [...new Set(receiver.requests.flatMap((r) => Object.keys(JSON.parse(r.body) as object)))];
    expect(fields).toEqual(expect.arrayContaining(['tlp', 'embargo_until', 'previous_revision', 'changes', 'retracts']));
    expect(headers.length).toBeGreaterThanOrEqual(4);
    expect(fields.length).toBeGreaterThan(10);
    const webhooks = section('Receiving webhooks (distribution partners)');
    expect({
      undocumentedHeaders: headers.filter((h) => !new RegExp(`\`${escape(h)}[\`:]`, 'i').test(webhooks)),
      undocumentedFields: fields.filter((f) => !webhooks.includes(`"${f}":`)),
      undocumentedTypes: [...new Set(receiver.requests.map((r) => (JSON.parse(r.body) as { type: string }).type))].filter((t) => !webhooks.includes(`\`${t}\``)),
    }).toEqual({ undocumentedHeaders: [], undocumentedFields: [], undocumentedTypes: [] });
  });

  it('every in-page link to an anchor that exists', () => {
    const slugs = new Map<string, number>();
    const anchors = new Set<string>();
    for (const [i, line] of lines.entries()) {
      const heading = !inCode[i] && /^#{1,6} (.+)$/.exec(line);
      if (!heading) continue;
      // GitHub's rule: lowercase, drop punctuation but - and _, spaces to -, -1, -2... for repeats.
      const slug = heading[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
      const seen = slugs.get(slug) ?? 0;
      slugs.set(slug, seen + 1);
      anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
    }
    const links = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThanOrEqual(3);
    expect({ linksToMissingAnchors: links.filter((l) => !anchors.has(l)) }).toEqual({ linksToMissingAnchors: [] });
  });
});
