import * as openpgp from 'openpgp';
import { MAX_PACKETS_PER_BLOCK, signatureFormProblems, signCleartext, signDetached, verifyCleartext, verifyDetached } from '../../src/pgp/detached';
import { withShadowSubkey } from '../support/shadow-key';

const DOC = Buffer.from('{"id":"X-1"}\n');
const newKey = (email: string, date?: Date) => openpgp.generateKey({ userIDs: [{ email }], format: 'object', ...(date ? { date } : {}) });

/** An armored block holding `packets` copies of the packets of `armored`, as an attacker makes it. */
async function repeated(armored: string, packets: number): Promise<string> {
  const bytes = (await openpgp.readSignature({ armoredSignature: armored })).write() as Uint8Array;
  return openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(Array.from({ length: packets }, () => bytes)));
}

/**
 * A refusal always says which signature failed and why, even for an armored block that openpgp.js
 * reads without complaint but that holds no signature packet (it skips packets it cannot parse).
 */
describe('verifyDetached', () => {
  let alice: Awaited<ReturnType<typeof newKey>>;
  beforeAll(async () => {
    alice = await newKey('alice@example.org');
  });

  it('refuses, by its index, a signature block that holds no signature packet', async () => {
    const { publicKey } = await openpgp.generateKey({ userIDs: [{ email: 'p@example.org' }], format: 'object' });
    // A packet of a tag openpgp.js does not support (60, private/experimental), then a marker packet.
    const bytes = new Uint8Array([0xc0 | 60, 3, 1, 2, 3, 0xc0 | 10, 3, 0x50, 0x47, 0x50]);
    const empty = openpgp.armor(openpgp.enums.armor.signature, bytes);
    const result = await verifyDetached(Buffer.from('document'), [empty], [publicKey]);
    expect(result.valid).toEqual([]);
    expect(result.problems).toEqual([expect.stringMatching(/^signatures\[0\]: /)]);
  });

  it("tries every key holding a signature's key id: a copy of bob's key as another key's subkey does not hide bob", async () => {
    const bob = await newKey('bob@example.org');
    const mallory = await newKey('mallory@example.org');
    const shadow = await openpgp.readKey({ armoredKey: await withShadowSubkey(mallory.publicKey.armor(), bob.publicKey.armor()) });
    const signature = await signDetached(DOC, bob.privateKey);
    // The shadowing key first, as it is when its fingerprint sorts first in the keys directory.
    const result = await verifyDetached(DOC, [signature], [shadow, bob.publicKey]);
    expect(result).toMatchObject({ problems: [], valid: [{ fingerprint: bob.publicKey.getFingerprint().toUpperCase() }] });
  });

  it(`refuses a block of more than ${MAX_PACKETS_PER_BLOCK} packets, or one packet twice, from its headers: nothing is verified`, async () => {
    const signature = await signDetached(DOC, alice.privateKey);
    const flood = await repeated(signature, 5000);
    const result = await verifyDetached(DOC, [flood, await repeated(signature, 2)], [alice.publicKey]);
    expect(result.valid).toEqual([]);
    // The form check's own words: no signature of these blocks reached openpgp.js's verification.
    expect(result.problems).toEqual([
      `signatures[0]: holds 5000 packets: a signature block may hold at most ${MAX_PACKETS_PER_BLOCK} (one per signing key)`,
      'signatures[1]: holds the same packet twice (packets 1 and 2)',
    ]);
    // Up to the limit, distinct packets (here by two keys) are all verified.
    const two = await signDetached(DOC, [alice.privateKey, (await newKey('carol@example.org')).privateKey]);
    expect((await verifyDetached(DOC, [two], [alice.publicKey])).valid).toHaveLength(1);
  });

  it('names each malformed block of a submission, the same packet in two blocks included, before verifying', async () => {
    const signature = await signDetached(DOC, alice.privateKey);
    const problems = await signatureFormProblems([signature, await repeated(signature, 400), signature, 'not armor']);
    expect(problems).toEqual([
      { field: 'signatures[1]', message: `holds 400 packets: a signature block may hold at most ${MAX_PACKETS_PER_BLOCK} (one per signing key)` },
      { field: 'signatures[2]', message: 'repeats a packet of signatures[0]: send each signature once' },
    ]);
  });

  it('refuses a text-mode signature only when told to: it also verifies over the CRLF variant of the bytes', async () => {
    const text = await openpgp.sign({ message: await openpgp.createMessage({ text: DOC.toString() }), signingKeys: alice.privateKey, detached: true });
    const crlf = Buffer.from(DOC.toString().replace(/\n/g, '\r\n'));
    // What openpgp.js does by itself: the other bytes verify too.
    expect((await verifyDetached(crlf, [text], [alice.publicKey])).valid).toHaveLength(1);
    const strict = await verifyDetached(crlf, [text], [alice.publicKey], { binaryOnly: true });
    expect(strict).toMatchObject({ valid: [], problems: ['signatures[0]: is a text-mode (0x01) signature: sign in binary mode (gpg --detach-sign, not --textmode or --clearsign)'] });
    expect(await signatureFormProblems([text], { binaryOnly: true })).toEqual([{ field: 'signatures[0]', message: expect.stringMatching(/text-mode \(0x01\)/) }]);
    expect((await verifyDetached(DOC, [await signDetached(DOC, alice.privateKey)], [alice.publicKey], { binaryOnly: true })).valid).toHaveLength(1);
  });

  it('allows a signature dated within the skew past its clock, and refuses one beyond, saying why', async () => {
    const signature = await signDetached(DOC, alice.privateKey);
    const created = (await openpgp.readSignature({ armoredSignature: signature })).packets[0]!.created!;
    const skewMs = 5 * 60_000;
    const fourMinutesSlow = new Date(created.getTime() - 4 * 60_000);
    expect((await verifyDetached(DOC, [signature], [alice.publicKey], { now: fourMinutesSlow, skewMs })).valid).toHaveLength(1);
    const sixMinutesSlow = new Date(created.getTime() - 6 * 60_000);
    const late = await verifyDetached(DOC, [signature], [alice.publicKey], { now: sixMinutesSlow, skewMs });
    expect(late.valid).toEqual([]);
    expect(late.problems).toEqual([`signatures[0]: is dated ${created.toISOString()}, more than 300 s after tocsin's clock (${sixMinutesSlow.toISOString()}): check the signing machine's clock and sign again`]);
  });
});

describe('verifyCleartext', () => {
  it('accepts a cleartext signature (text mode by nature), and refuses one of too many packets unverified', async () => {
    const key = await newKey('tocsin@example.org');
    const signed = await signCleartext('Notice\nline two\n', key.privateKey);
    expect((await verifyCleartext(signed, [key.publicKey])).valid).toHaveLength(1);
    // Ten signature packets by one key: more than a block may hold.
    const many = await signCleartext('Notice\n', Array.from({ length: 10 }, () => key.privateKey));
    const result = await verifyCleartext(many, [key.publicKey]);
    expect(result).toMatchObject({ valid: [], problems: [`its signature holds 10 packets: a signature block may hold at most ${MAX_PACKETS_PER_BLOCK} (one per signing key)`] });
  });
});
