/**
 * The script of verify.html, run by the reader's browser (a classic script, so the page works
 * from file:// too). It recognises what a reader pastes the way `tocsin verify` does: a webhook
 * body or an advisory from the API (document + signature), a cleartext-signed block copied from
 * Slack, Mastodon or anywhere, or a bare document with its detached signature. It checks the
 * signature against the keys embedded in the page, with openpgp.js, and sends nothing anywhere.
 * Which key made a good signature decides the verdict: the current key is valid, a previous key
 * only for what it signed before it was retired, a revoked key never.
 */
import { MAX_PACKETS_PER_BLOCK } from '../pgp/detached';

export const VERIFY_SCRIPT = String.raw`(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };

  function recognise(text, signature) {
    if (signature.trim() !== '') {
      return { kind: 'detached', document: text, signature: signature, form: 'document with detached signature' };
    }
    var json;
    try { json = JSON.parse(text); } catch (e) { json = undefined; }
    if (json && typeof json === 'object') {
      if (typeof json.document === 'string' && typeof json.signature === 'string') {
        return { kind: 'detached', document: json.document, signature: json.signature, form: 'webhook body' };
      }
      if (typeof json.document === 'string' && typeof json.broadcaster_signature === 'string') {
        return { kind: 'detached', document: json.document, signature: json.broadcaster_signature, form: 'advisory from the API' };
      }
    }
    // Armor lines count only at the start of a line: quoted ones inside signed text are dash-escaped.
    var block = /^-----BEGIN PGP SIGNED MESSAGE-----\r?\n[\s\S]*?^-----END PGP SIGNATURE-----$/m.exec(text);
    if (block) return { kind: 'cleartext', cleartext: block[0], form: 'cleartext-signed notice' };
    return null;
  }

  function describe(signed) {
    try {
      var doc = JSON.parse(signed);
      if (doc && typeof doc === 'object' && doc.id !== undefined) {
        return String(doc.id) + ' revision ' + String(doc.revision) + (typeof doc.title === 'string' ? ': ' + doc.title : '');
      }
    } catch (e) { /* a rendered notice, not a document */ }
    var ref = /^Advisory: (\S+) revision (\d+)\s*$/m.exec(signed);
    var title = /^Title: (.+?)\s*$/m.exec(signed);
    if (!ref) return '(the signed text names no advisory)';
    return ref[1] + ' revision ' + ref[2] + (title ? ': ' + title[1] : '');
  }

  function when(iso) { return iso.replace(/\.\d{3}Z$/, 'Z'); }

  /** The keys listed on the page. A revoked key loses its revocation here so that its signatures
   *  can still be checked: its role, not openpgp.js, decides what such a signature is worth. */
  async function loadKeys() {
    var sections = document.querySelectorAll('section.key');
    var keys = [];
    for (var i = 0; i < sections.length; i++) {
      var s = sections[i];
      var key = await openpgp.readKey({ armoredKey: s.querySelector('pre.armored').textContent });
      if (s.dataset.role === 'revoked') key.revocationSignatures = [];
      keys.push({ key: key, role: s.dataset.role, fingerprint: s.dataset.fingerprint, data: s.dataset });
    }
    return keys;
  }

  /** What one good signature by a known key is worth: rank 0 best; 3 is not valid at all. */
  function judge(known, created, current) {
    var fpr = known.fingerprint, d = known.data;
    if (known.role === 'current') return { rank: 0, verdict: 'valid', headline: 'VALID \u2014 signed by the current broadcaster key ' + fpr, details: '' };
    if (known.role === 'previous') {
      var retired = new Date(d.retiredAt);
      if (created && created > retired) {
        return { rank: 3, verdict: 'invalid', headline: 'INVALID \u2014 signed by the previous broadcaster key ' + fpr + ' after it was retired on ' + when(d.retiredAt),
          details: 'Tocsin stopped signing with that key then, so this signature was not made by tocsin. ' };
      }
      var chain = d.chain ? d.chain.split(' ') : [];
      var link = d.leadsToCurrent !== 'true'
        ? 'it certified ' + chain[0] + ', but no unbroken line of rotations leads from it to the current key ' + current
        : chain.length === 1 ? 'the current key ' + current + ' is certified by it'
        : 'it certified ' + chain[0] + ', and each rotation since certified the next key, up to the current key ' + current;
      return { rank: 1, verdict: 'valid', headline: 'VALID \u2014 signed by the previous broadcaster key ' + fpr + ' (retired on ' + when(d.retiredAt) + '; ' + link + ')',
        details: 'This notice was signed before tocsin changed keys. ' };
    }
    var soft = d.soft === 'true' && created && created < new Date(d.revokedAt);
    return { rank: 2, verdict: 'revoked',
      headline: 'NOT VALID \u2014 signed by the REVOKED broadcaster key ' + fpr + ' (revoked on ' + when(d.revokedAt) + ': ' + d.reason + ')',
      details: soft
        ? 'The revocation says the key was not compromised, and this signature is older than it: the notice was probably genuine when sent, but get a copy signed by the current key ' + current + ' before acting on it. '
        : 'A revoked key may be in other hands: do not trust this notice. Get the advisory signed by the current key ' + current + '. ' };
  }

  // As tocsin verify and the API: a block holds one packet per signing key, and each packet costs
  // a verification, so a pasted block of thousands is refused before any is checked.
  var MAX_PACKETS = ${MAX_PACKETS_PER_BLOCK};
  function tooMany(n) { return 'the signature block holds ' + n + ' packets: a tocsin signature holds at most ' + MAX_PACKETS + ' (one per key)'; }

  async function check(input, keys) {
    var verificationKeys = keys.map(function (k) { return k.key; });
    var result, signed;
    if (input.kind === 'detached') {
      var signature = await openpgp.readSignature({ armoredSignature: input.signature });
      if (signature.packets.length > MAX_PACKETS) return { ok: false, problems: [tooMany(signature.packets.length)] };
      var message = await openpgp.createMessage({ binary: new TextEncoder().encode(input.document) });
      result = await openpgp.verify({ message: message, signature: signature, verificationKeys: verificationKeys, format: 'binary' });
      signed = input.document;
    } else {
      var cleartext = await openpgp.readCleartextMessage({ cleartextMessage: input.cleartext });
      if (cleartext.signature.packets.length > MAX_PACKETS) return { ok: false, problems: [tooMany(cleartext.signature.packets.length)] };
      result = await openpgp.verify({ message: cleartext, verificationKeys: verificationKeys });
      signed = result.data;
    }
    var current = keys[0].fingerprint;
    var problems = [], judged = [];
    for (var i = 0; i < result.signatures.length; i++) {
      var sig = result.signatures[i];
      var known = keys.find(function (k) { return k.key.getKeys(sig.keyID).length > 0; });
      if (!known) { problems.push('a signature by key ' + sig.keyID.toHex().toUpperCase() + ', which is not a tocsin broadcaster key'); continue; }
      var packet = (await sig.signature).packets[0];
      var created = packet && packet.created;
      try {
        await sig.verified;
      } catch (e) {
        var expires = await known.key.getExpirationTime().catch(function () { return null; });
        problems.push(expires instanceof Date && created && created > expires
          ? 'signed by ' + known.fingerprint + ' after that key expired on ' + expires.toISOString()
          : 'the signature by ' + known.fingerprint + ' does not match: ' + (e && e.message ? e.message : String(e)));
        continue;
      }
      var j = judge(known, created, current);
      j.created = created;
      if (j.rank === 3) problems.push(j.headline.replace(/^INVALID \u2014 /, ''));
      else judged.push(j);
    }
    judged.sort(function (a, b) { return a.rank - b.rank; });
    if (judged.length === 0) return { ok: false, problems: problems.length > 0 ? problems : ['no signature found'] };
    var others = judged.slice(1).map(function (j) { return j.headline; });
    return { ok: true, best: judged[0], others: others, text: signed };
  }

  function show(verdict, headline, details, signed) {
    var box = $('verdict');
    box.setAttribute('data-verdict', verdict);
    box.className = 'verdict ' + verdict;
    $('headline').textContent = headline;
    $('details').textContent = details;
    $('signed-text').textContent = signed || '';
    $('signed-block').hidden = !signed;
  }

  async function run() {
    show('checking', 'Checking...', '', '');
    var input = recognise($('notice').value, $('signature').value);
    if (!input) {
      show('invalid', 'INVALID \u2014 nothing to check', 'Paste a webhook body, a cleartext-signed notice (from -----BEGIN PGP SIGNED MESSAGE----- to -----END PGP SIGNATURE-----), or a document with its signature in the second box.', '');
      return;
    }
    try {
      var verdict = await check(input, await loadKeys());
      if (verdict.ok) {
        var best = verdict.best;
        show(best.verdict, best.headline,
          best.details + 'Read as: ' + input.form + '. Advisory: ' + describe(verdict.text) +
          (best.created ? '. Signed at ' + best.created.toISOString() : '') +
          (verdict.others.length > 0 ? '. It also carries: ' + verdict.others.join('; ') : '') +
          (best.verdict === 'valid' ? '. Only the text below is vouched for.' : '.'), best.verdict === 'valid' ? verdict.text : '');
      } else {
        show('invalid', 'INVALID \u2014 the signature does not match', 'Read as: ' + input.form + '. ' + verdict.problems.join('; '), '');
      }
    } catch (e) {
      show('invalid', 'INVALID \u2014 could not be checked', (e && e.message) ? e.message : String(e), '');
    }
  }

  function loadInto(fileInput, textarea) {
    fileInput.addEventListener('change', function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) return;
      file.text().then(function (text) { textarea.value = text; });
    });
  }

  $('check').addEventListener('click', function () { run(); });
  loadInto($('notice-file'), $('notice'));
  loadInto($('signature-file'), $('signature'));
  $('ready').setAttribute('data-ready', 'true');
})();
`;
