import * as openpgp from 'openpgp';
import { readEnrolableKey } from '../../src/publishers/enrolment-checks';

/** A publisher key made with the given clock, as a machine whose clock is off would make it. */
async function keyMadeAt(date: Date): Promise<string> {
  const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'fast-clock@example.org' }], date, format: 'armored' });
  return publicKey;
}

describe('enrolling a key made on a machine whose clock runs fast', () => {
  const now = new Date('2026-12-02T08:00:00Z');

  it('accepts a key dated up to five minutes after tocsin\'s clock, as signatures are', async () => {
    const key = await readEnrolableKey(await keyMadeAt(new Date(now.getTime() + 4 * 60_000)), now);
    expect(key.getUserIDs()).toEqual(['<fast-clock@example.org>']);
  });

  it('refuses one dated further ahead, naming both times', async () => {
    await expect(readEnrolableKey(await keyMadeAt(new Date(now.getTime() + 6 * 60_000)), now)).rejects.toThrow(
      /is dated 2026-12-02T08:06:00\.000Z, more than 300 s after tocsin's clock \(2026-12-02T08:00:00\.000Z\)/,
    );
  });
});
