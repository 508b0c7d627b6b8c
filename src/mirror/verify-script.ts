/**
 * The script of verify.html, run by the reader's browser (a classic script, so the page works
 * from file:// too). It recognises what a reader pastes the way `tocsin verify` does: a webhook
 * body or an advisory from the API (document + signature), a cleartext-signed block copied from
 * Slack, Mastodon or anywhere, or a bare document with its detached signature. It checks the
 * signature against the key embedded in the page, with openpgp.js, and sends nothing anywhere.
 */
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

  async function check(input, key) {
    var result, signed;
    if (input.kind === 'detached') {
      var signature = await openpgp.readSignature({ armoredSignature: input.signature });
      var message = await openpgp.createMessage({ binary: new TextEncoder().encode(input.document) });
      result = await openpgp.verify({ message: message, signature: signature, verificationKeys: key, format: 'binary' });
      signed = input.document;
    } else {
      var cleartext = await openpgp.readCleartextMessage({ cleartextMessage: input.cleartext });
      result = await openpgp.verify({ message: cleartext, verificationKeys: key });
      signed = result.data;
    }
    var problems = [];
    for (var i = 0; i < result.signatures.length; i++) {
      try {
        await result.signatures[i].verified;
        var packet = (await result.signatures[i].signature).packets[0];
        return { ok: true, text: signed, created: packet && packet.created };
      } catch (e) {
        problems.push(e && e.message ? e.message : String(e));
      }
    }
    return { ok: false, problems: problems.length > 0 ? problems : ['no signature found'] };
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
      show('invalid', 'INVALID: nothing to check', 'Paste a webhook body, a cleartext-signed notice (from -----BEGIN PGP SIGNED MESSAGE----- to -----END PGP SIGNATURE-----), or a document with its signature in the second box.', '');
      return;
    }
    try {
      var key = await openpgp.readKey({ armoredKey: $('tocsin-key').textContent });
      var verdict = await check(input, key);
      if (verdict.ok) {
        show('valid', 'VALID: signed by tocsin key ' + key.getFingerprint().toUpperCase(),
          'Read as: ' + input.form + '. Advisory: ' + describe(verdict.text) +
          (verdict.created ? '. Signed at ' + verdict.created.toISOString() : '') + '. Only the text below is vouched for.', verdict.text);
      } else {
        show('invalid', 'INVALID: the signature does not match', 'Read as: ' + input.form + '. ' + verdict.problems.join('; '), '');
      }
    } catch (e) {
      show('invalid', 'INVALID: could not be checked', (e && e.message) ? e.message : String(e), '');
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
