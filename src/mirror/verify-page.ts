import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { spacedFingerprint } from '../notices/notice-view';
import { esc } from './html-escape';
import { isoSeconds } from './iso-seconds';
import { PAGE_STYLE } from './index-page';
import { VERIFY_SCRIPT } from './verify-script';
import type { KeyHistory } from '../pgp/key-history';

/** openpgp.js's browser build: a classic script (module scripts do not load from file://). */
export function openpgpBrowserBuild(): { script: string; license: string } {
  const nodeBuild = require.resolve('openpgp');
  const dist = path.resolve(path.dirname(nodeBuild), '..');
  return { script: path.join(dist, 'openpgp.min.js'), license: path.resolve(dist, '..', 'LICENSE') };
}

function cspHash(script: string): string {
  return `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;
}

/** One key of the history as the page's script reads it: its role and dates in data attributes. */
function keySection(history: KeyHistory, fingerprint: string): string {
  const revoked = history.revoked.find((r) => r.fingerprint === fingerprint);
  const retired = history.retired.find((r) => r.fingerprint === fingerprint);
  let attrs: Record<string, string>;
  let title: string;
  let armored: string;
  if (revoked) {
    attrs = { role: 'revoked', 'revoked-at': revoked.revokedAt.toISOString(), reason: revoked.reason, soft: String(revoked.soft) };
    title = `REVOKED broadcaster key (revoked on ${isoSeconds(revoked.revokedAt)}: ${revoked.reason})`;
    armored = revoked.publicKey.armor();
  } else if (retired) {
    attrs = { role: 'previous', 'retired-at': retired.retiredAt.toISOString(), chain: retired.chain.join(' '), 'leads-to-current': String(retired.leadsToCurrent) };
    title = `Previous broadcaster key (retired on ${isoSeconds(retired.retiredAt)}; it certified ${retired.successor})`;
    armored = retired.publicKey.armor();
  } else {
    attrs = { role: 'current' };
    title = 'Current broadcaster key';
    armored = history.current.armoredPublicKey;
  }
  const data = Object.entries({ fingerprint, ...attrs })
    .map(([k, v]) => ` data-${k}="${esc(v)}"`)
    .join('');
  return `<section class="key"${data}>
<h3>${esc(title)}</h3>
<p class="fpr">${esc(spacedFingerprint(fingerprint))}</p>
<pre class="armored">${esc(armored.trim())}</pre>
</section>`;
}

/** Every key of the history once: the current key first, then retired keys newest first, then revoked ones. */
export function historyFingerprints(history: KeyHistory): string[] {
  return [...new Set([history.current.fingerprint, ...history.retired.map((r) => r.fingerprint), ...history.revoked.map((r) => r.fingerprint)])];
}

/**
 * verify.html: one self-contained file (openpgp.js, the page's script and every broadcaster key
 * the installation has had, inline), so a reader can save it once and check notices offline. Its
 * Content-Security-Policy allows exactly those two scripts and no connection of any kind.
 */
export async function renderVerifyPage(history: KeyHistory, siteName: string): Promise<string> {
  const library = (await readFile(openpgpBrowserBuild().script, 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  if (/<\/script|<!--|<script/i.test(library) || /<\/script|<!--|<script/i.test(VERIFY_SCRIPT)) {
    throw new Error('a script to inline in verify.html contains markup that would end it early');
  }
  const csp = `default-src 'none'; script-src ${cspHash(library)} ${cspHash(VERIFY_SCRIPT)}; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`;
  const earlier = history.retired.length + history.revoked.filter((r) => r.fingerprint !== history.current.fingerprint).length;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>Verify a tocsin notice</title>
<style>${PAGE_STYLE}
textarea { width: 100%; min-height: 12rem; font-family: ui-monospace, monospace; }
.verdict { padding: .6rem; margin: 1rem 0; border-radius: .3rem; background: #eee; }
.verdict.valid { background: #dff5df; border: 2px solid #2b6a2b; }
.verdict.invalid { background: #fbe0e0; border: 2px solid #8b0000; }
.verdict.revoked { background: #fff0c2; border: 2px solid #b35c00; }
#headline { font-weight: bold; font-size: 1.2rem; }
</style>
</head>
<body>
<h1>Verify a notice from ${esc(siteName)}</h1>
<p>This page checks tocsin's OpenPGP signature in your browser. Nothing you paste leaves it: the page makes no network
request at all, and works saved to disk. It trusts the current broadcaster key, with the fingerprint</p>
<p class="fpr">${esc(spacedFingerprint(history.current.fingerprint))}</p>
<p>Compare it with the fingerprint you received through another channel.${
    earlier > 0
      ? ` It also knows the ${earlier} earlier key${earlier === 1 ? '' : 's'} listed at the bottom: a previous key (one that certified its successor when
tocsin rotated keys) vouches only for what it signed before it was retired, and a revoked key vouches for nothing.`
      : ''
  }</p>
<noscript><p><b>This page needs JavaScript.</b> Without it, verify with gpg as <a href="index.html">the index</a> shows.</p></noscript>
<p><label for="notice">Paste a webhook body (JSON), a cleartext-signed notice (Slack, Mastodon: from
<code>-----BEGIN PGP SIGNED MESSAGE-----</code> to <code>-----END PGP SIGNATURE-----</code>), or a signed document:</label></p>
<textarea id="notice" spellcheck="false"></textarea>
<p><input type="file" id="notice-file" aria-label="load the notice or document from a file"></p>
<p><label for="signature">For a bare document only: tocsin's detached signature (<code>.asc</code>):</label></p>
<textarea id="signature" spellcheck="false" style="min-height: 6rem"></textarea>
<p><input type="file" id="signature-file" aria-label="load the signature from a file"></p>
<p><button id="check" type="button">Verify</button></p>
<div id="verdict" class="verdict" data-verdict="none" aria-live="polite"><div id="headline">Nothing checked yet.</div><div id="details"></div></div>
<div id="signed-block" hidden><h2>The signed text</h2><pre id="signed-text"></pre></div>
<h2>Tocsin's public key${earlier > 0 ? 's' : ''}</h2>
${historyFingerprints(history)
  .map((f) => keySection(history, f))
  .join('\n')}
<p id="ready" data-ready="false">OpenPGP by <a href="https://openpgpjs.org/">OpenPGP.js</a> (LGPL-3.0-or-later; licence in <a href="licenses/openpgp.js.txt">licenses/openpgp.js.txt</a>).</p>
<script>${library}</script>
<script>${VERIFY_SCRIPT}</script>
</body>
</html>
`;
}
