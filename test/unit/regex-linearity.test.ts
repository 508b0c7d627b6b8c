import { performance } from 'node:perf_hooks';
import { advisoryDocumentSchema } from '../../src/advisory/schema';
import { unstructuredHeader } from '../../src/channels/mail-header';
import { countCharacters } from '../../src/channels/mastodon-thread';
import { describeSignedText } from '../../src/cli/describe-signed-text';
import { parseEmailInput } from '../../src/cli/inputs/email-input';
import { parseMastodonInput } from '../../src/cli/inputs/mastodon-input';
import { parseSlackInput } from '../../src/cli/inputs/slack-input';
import { parseCleartextInput } from '../../src/cli/inputs/webhook-input';
import { printable } from '../../src/cli/terminal-text';
import { bearerChecker } from '../../src/http/bearer-token';
import { scrubLine } from '../../src/log';
import { scoreCvss3 } from '../../src/mirror/cvss3';
import { esc } from '../../src/mirror/html-escape';
import { osvVersions, packageFromPurl } from '../../src/mirror/osv-document';
import { isConformantPurl, purlProblem } from '../../src/mirror/purl';
import { csafFileName } from '../../src/mirror/site-paths';
import { asUri } from '../../src/mirror/uri';
import { statusHtmlToText } from '../../src/notices/mastodon-html';
import { escapeSignedValue, escapeSummaryValue, tidyLines } from '../../src/notices/mastodon-text';
import { buildSignedEntity, decodeQuotedPrintable, isSevenBitSafe } from '../../src/notices/pgp-mime';
import { cutAt } from '../../src/notices/slack-notice';
import { escapeSlack, unescapeSlack } from '../../src/notices/slack-escape';
import { renderTemplate } from '../../src/templates/render-template';
import { unsafeTextProblem } from '../../src/util/safe-text';
import { parseStrictJson } from '../../src/util/strict-json';
import { sampleAdvisory } from '../support/advisory-fixture';

/**
 * Every function that runs a regex (or a hand-written scan) over text someone else wrote:
 * document fields, recipient fields, headers, armored input to `tocsin verify`, peers' answers
 * that reach the log. Each gets the classic inputs that make a backtracking regex quadratic or
 * worse: a long run of one character ending in a mismatch, alternating blanks without a newline,
 * runs of sigils, "%" and markers. 100 KB through a quadratic pattern takes seconds to minutes;
 * through a linear one, milliseconds. The bound is generous: this guards correctness, it is no
 * benchmark.
 */
const BOUND_MS = 500;
const KB100 = 100_000;

/** `unit` repeated to `size` characters, then `tail`. */
const run = (unit: string, tail = '', size = KB100) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size) + tail;

/** The classic shapes, for a function that takes any text. */
const GENERIC: [string, string][] = [
  ['a run of spaces then a letter', run(' ', 'x')],
  ['alternating spaces and tabs without a newline', run(' \t', 'x')],
  ['blank runs between letters', run('a \t \t \t ')],
  ['a run of "@"', run('@')],
  ['a run of "#"', run('#')],
  ['"@" after non-decimal digits', run('²@Ⅻ#①@')],
  ['a run of "%"', run('%')],
  ['a run of "&"', run('&', 'x')],
  ['a run of "<"', run('<')],
  ['a run of "-"', run('-')],
  ['a run of newlines then blanks', run('\n \t', 'x')],
  ['a run of "." then a letter', run('.', 'x')],
  ['"a." repeated then "@"', run('a.', '@')],
];

/** A 30-character marker fits only 3,300 times in 100 KB, too few to show a quadratic scan: 1 MB. */
const MB = 1_000_000;
const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----\n';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----\n';

const email = (signaturePart: string) =>
  ['Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="b"', '', '--b', 'signed', '--b', signaturePart, '--b--', ''].join('\r\n');

const doc = (purl: string) => sampleAdvisory({ affected: [{ product: 'acme', versions: '1', purl }] });

type Case = [string, () => unknown];
const cases: Case[] = [
  // Intake: the purl field, and the whole document through the schema.
  ['purlProblem: nested qualifiers that made the old pattern exponential', () => purlProblem(`pkg:a/b?${'a&'.repeat(30)}"`)],
  ['isConformantPurl: nested qualifiers that made the old pattern exponential', () => isConformantPurl(`pkg:a/b?${'a&'.repeat(30)}"`)],
  ...(
    [
      ['qualifiers', `pkg:a/b?${run('a&', '"')}`],
      ['namespace segments', `pkg:npm/${run('a/', ' ')}`],
      ['a long name', `pkg:npm/${run('a', '"')}`],
      ['percent runs', `pkg:npm/${run('%')}`],
      ['escapes', `pkg:npm/${run('%41', '%')}`],
      ['"@" runs', `pkg:npm/${run('@')}`],
      ['subpath segments', `pkg:npm/x#${run('a/', '#')}`],
      ['slashes after the scheme', `pkg:${run('/', 'x')}`],
    ] as const
  ).flatMap(([what, purl]): Case[] => [
    [`purlProblem: ${what}`, () => purlProblem(purl)],
    [`isConformantPurl: ${what}`, () => isConformantPurl(purl)],
    [`packageFromPurl: ${what}`, () => packageFromPurl(purl)],
    [`the document schema: purl with ${what}`, () => advisoryDocumentSchema.safeParse(doc(purl))],
  ]),
  ...GENERIC.flatMap(([what, text]): Case[] => [
    // Intake: the text rule every submitted string passes, and the duplicate-key check.
    [`unsafeTextProblem: ${what}`, () => [unsafeTextProblem(text, 'single'), unsafeTextProblem(text, 'multi')]],
    [`parseStrictJson: a document holding ${what}`, () => parseStrictJson(JSON.stringify({ title: text, affected: [{ [text]: text }] }))],
    // Rendering: every notice format's text handling.
    [`unstructuredHeader (email Subject): ${what}`, () => unstructuredHeader('Subject', text)],
    [`buildSignedEntity (email): ${what}`, () => buildSignedEntity(text, text)],
    [`isSevenBitSafe: ${what}`, () => isSevenBitSafe(text)],
    [`decodeQuotedPrintable: ${what}`, () => decodeQuotedPrintable(text)],
    [`escapeSummaryValue (Mastodon): ${what}`, () => escapeSummaryValue(text)],
    [`escapeSignedValue (Mastodon): ${what}`, () => escapeSignedValue(text)],
    [`tidyLines (Mastodon): ${what}`, () => tidyLines(text, true)],
    [`countCharacters (Mastodon): ${what}`, () => countCharacters(`http://${text}`, { maxCharacters: 500, charactersReservedPerUrl: 23 })],
    [`escapeSlack and unescapeSlack: ${what}`, () => unescapeSlack(escapeSlack(text))],
    [`cutAt (Slack): ${what}`, () => cutAt(text, 3000)],
    [`renderTemplate with the value: ${what}`, () => renderTemplate('{{title}} {{#cves}}{{.}}{{/cves}}', { title: text, cves: [text] }, escapeSlack)],
    // The mirror.
    [`esc (HTML): ${what}`, () => esc(text)],
    [`asUri (CSAF references): ${what}`, () => asUri(`https://example.org/${text}`)],
    [`csafFileName: ${what}`, () => csafFileName(text)],
    [`osvVersions: ${what}`, () => osvVersions(text)],
    [`scoreCvss3: ${what}`, () => scoreCvss3(`CVSS:3.1/${text}`)],
    // Headers and log lines.
    [`bearerChecker: ${what}`, () => bearerChecker('secret-token')(`Bearer ${text}`)],
    [`scrubLine (log): ${what}`, () => scrubLine(text, ['a-secret-value'])],
    // What `tocsin verify` reads and prints.
    [`describeSignedText: "Title:" with ${what}`, () => describeSignedText(`Advisory: A-1 revision 1\nTitle: a${text}`)],
    [`describeSignedText: "Advisory:" with ${what}`, () => describeSignedText(`Advisory: ${text}`)],
    [`describeSignedText: a quoted-printable header with ${what}`, () => describeSignedText(`Content-Transfer-Encoding: quoted-printable${text}`)],
    [`statusHtmlToText: ${what}`, () => statusHtmlToText(text)],
    [`parseMastodonInput: ${what}`, () => parseMastodonInput(text, { id: '1', content: text, account: { id: '1' } })],
    [`parseSlackInput: ${what}`, () => parseSlackInput(text, { text })],
    [`parseEmailInput: ${what}`, () => parseEmailInput(email(text), undefined)],
    [`parseCleartextInput: ${what}`, () => parseCleartextInput(text, undefined)],
    [`printable: ${what}`, () => printable(text)],
  ]),
  ['parseEmailInput: BEGIN PGP SIGNATURE lines without an END', () => parseEmailInput(email(run(BEGIN_SIGNATURE, '', MB)), undefined)],
  ['parseCleartextInput: BEGIN PGP SIGNED MESSAGE lines without an END', () => parseCleartextInput(run(BEGIN_SIGNED, '', MB), undefined)],
  ['parseSlackInput: BEGIN PGP SIGNED MESSAGE lines without an END', () => parseSlackInput('', { text: run(BEGIN_SIGNED, '', MB) })],
  ['statusHtmlToText: paragraph breaks without a closing ">"', () => statusHtmlToText(run('</p> <p ', 'x'))],
  ['parseEmailInput: folded header lines', () => parseEmailInput(`Content-Type: multipart/signed;${run('\r\n \t')}x\r\n\r\nbody`, undefined)],
];

describe('every regex over submitted text is linear: 100 KB of adversarial input in well under a second', () => {
  it.each(cases)('%s', (_what, fn) => {
    const started = performance.now();
    fn();
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
  });
});
