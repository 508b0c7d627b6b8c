import * as openpgp from 'openpgp';
import { signDetached } from '../../src/pgp/detached';
import { followTransition, signTransition, type TransitionStatement } from '../../src/pgp/key-transition';

const newKey = async () =>
  (await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'tocsin', email: 'tocsin@example.org' }], format: 'object' })).privateKey;

/** Re-signs an edited statement with the given keys, as a forger holding those keys would. */
async function forge(statement: TransitionStatement, signers: openpgp.PrivateKey[]) {
  const text = `${JSON.stringify(statement, null, 2)}\n`;
  return { text, signature: await signDetached(Buffer.from(text), signers) };
}

describe('following a key transition statement', () => {
  let a: openpgp.PrivateKey;
  let b: openpgp.PrivateKey;
  let certifiedB: openpgp.PrivateKey;
  const now = new Date();
  const until = new Date(now.getTime() + 86_400_000);

  beforeAll(async () => {
    a = await newKey();
    b = await newKey();
    certifiedB = await b.signAllUsers([a], now);
  });

  it('accepts a statement signed by the trusted old key and the new key, whose user id the old key certified', async () => {
    const t = await signTransition(a, certifiedB, now, until);
    const { newKey: followed, statement } = await followTransition([a.toPublic()], t.text, t.signature);
    expect(followed.getFingerprint()).toBe(b.getFingerprint());
    expect(statement).toMatchObject({ old_fingerprint: a.getFingerprint().toUpperCase(), overlap_until: until.toISOString() });
  });

  it('refuses when the old key is not one the recipient trusts', async () => {
    const t = await signTransition(a, certifiedB, now, until);
    await expect(followTransition([(await newKey()).toPublic()], t.text, t.signature)).rejects.toThrow(/not one you trust/);
  });

  it('refuses a statement changed after signing', async () => {
    const t = await signTransition(a, certifiedB, now, until);
    const edited = t.text.replace(until.toISOString(), new Date(until.getTime() + 1000).toISOString());
    await expect(followTransition([a.toPublic()], edited, t.signature)).rejects.toThrow(/no valid signature by the (old|new) key/);
  });

  it('refuses a statement that only the new key signed (a forger claiming to succeed the old key)', async () => {
    const t = await signTransition(a, certifiedB, now, until);
    const forged = await forge(t.statement, [b]);
    await expect(followTransition([a.toPublic()], forged.text, forged.signature)).rejects.toThrow(/no valid signature by the old key/);
  });

  it('refuses a statement that only the old key signed: the new key never proved it holds its private key', async () => {
    const t = await signTransition(a, certifiedB, now, until);
    const forged = await forge(t.statement, [a]);
    await expect(followTransition([a.toPublic()], forged.text, forged.signature)).rejects.toThrow(/no valid signature by the new key/);
  });

  it('refuses a new key whose user id the old key did not certify', async () => {
    const t = await signTransition(a, b, now, until);
    await expect(followTransition([a.toPublic()], t.text, t.signature)).rejects.toThrow(/not certified by the old key/);
  });

  it('refuses a statement whose embedded key is not the fingerprint it names', async () => {
    const t = await signTransition(a, certifiedB, now, until);
    const other = await (await newKey()).signAllUsers([a], now);
    const forged = await forge({ ...t.statement, new_key: other.toPublic().armor() }, [a, other]);
    await expect(followTransition([a.toPublic()], forged.text, forged.signature)).rejects.toThrow(/the key it carries is/);
  });
});
