import { readFile } from 'node:fs/promises';
import type { AdvisoryRecord } from '../advisory/record';
import type { HoldStatus } from '../publish/advisory-intake';
import { concludeBroadcast, untilInterrupted, watchBroadcast } from './broadcast-watch';
import { printJson } from './cli-output';
import { CliFailure } from './commands';
import { createProgressDisplay } from './progress-display';

/** Exit code of `publish --wait` when the two-person rule holds the advisory: nothing is sent yet. */
export const HELD_EXIT = 4;

export interface PublishOptions {
  sig: string[];
  url: string;
  timeoutSeconds: number;
  /** Follow the deliveries after the 202 until no first attempt is left pending. */
  wait: boolean;
  json: boolean;
  /** Off a terminal, a progress line at most this often. */
  lineEveryMs: number;
}

type PublishAnswer = (AdvisoryRecord & { status: 'accepted' | 'duplicate'; delivery: string }) | HoldStatus;

/** POSTs the advisory; the server's answer, or exit 1 (its body printed) when refused or silent. */
async function submit(file: string, options: PublishOptions): Promise<{ text: string; answer: PublishAnswer }> {
  const document = await readFile(file, 'utf8');
  const signatures = await Promise.all(options.sig.map((s) => readFile(s, 'utf8')));
  const endpoint = new URL('/v1/advisories', options.url);
  // In an emergency a hung server must not hang the publisher too: say so, and let them retry.
  const signal = AbortSignal.timeout(options.timeoutSeconds * 1000);
  let text: string;
  let response: Response;
  try {
    response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ document, signatures }), signal });
    text = await response.text();
  } catch (err) {
    if (signal.aborted) throw new CliFailure(`${endpoint.href} did not answer within ${options.timeoutSeconds} s; nothing is known to be accepted: publish again (a repeat is answered 200 "duplicate")`);
    throw err;
  }
  if (response.status !== 200 && response.status !== 202) {
    console.log(text);
    throw new CliFailure(`${endpoint.href} answered ${response.status}`);
  }
  return { text, answer: JSON.parse(text) as PublishAnswer };
}

/**
 * `tocsin publish FILE --sig FILE.asc [--wait]`. Without `--wait` it prints the server's answer, as
 * it always did. With it, it follows the deliveries live and exits 0 only when every recipient
 * got the notice.
 */
export async function publishCommand(file: string, options: PublishOptions): Promise<void> {
  const { text, answer } = await submit(file, options);
  if (!options.wait) {
    console.log(text);
    return;
  }
  if (answer.status === 'awaiting_signatures' || answer.status === 'expired') {
    if (options.json) printJson({ submission: answer });
    throw new CliFailure(
      `${answer.id} revision ${answer.revision} is held by the two-person rule: ${answer.missing} more signature(s) needed before ${answer.expires_at}; nothing is sent until then`,
      HELD_EXIT,
    );
  }
  if (!options.json) {
    console.log(answer.status === 'duplicate' ? `${answer.id} revision ${answer.revision} was accepted before: following its deliveries` : `accepted ${answer.id} revision ${answer.revision}`);
  }
  // stdout carries the JSON for scripts; the live display goes to stderr then.
  const out = options.json ? process.stderr : process.stdout;
  const final = await untilInterrupted((interrupt) =>
    watchBroadcast({ url: options.url }, answer, { display: createProgressDisplay(out, options.lineEveryMs), lineEveryMs: options.lineEveryMs, interrupt, sha256: answer.sha256 }),
  );
  if (options.json) printJson({ submission: answer, deliveries: final });
  const done = concludeBroadcast(final);
  if (!options.json) console.log(done);
}
