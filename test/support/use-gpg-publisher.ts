import { createGpgPublisher, type GpgKeyOptions, type GpgPublisher } from './gpg';

/**
 * A suite's gpg publisher: made in the suite's `beforeAll` (a real key in its own GNUPGHOME) and
 * disposed of in its `afterAll`. Call it at the top of a `describe`; what it returns stands for
 * the publisher in every hook and test after that `beforeAll`, and its own `dispose` does nothing
 * (the fixture owns the key).
 *
 * Jest only: it registers hooks, so tsconfig.build.json leaves `test/support/use-*.ts` out of the
 * build (which has no jest globals).
 *
 * @example const publisher = useGpgPublisher('sec@example.org');
 */
export function useGpgPublisher(email = 'publisher@example.org', expiry?: string, options?: GpgKeyOptions): GpgPublisher {
  let made: GpgPublisher | undefined;
  beforeAll(async () => {
    made = await createGpgPublisher(email, expiry, options);
  });
  afterAll(async () => {
    await made?.dispose();
    made = undefined;
  });
  const current = (): GpgPublisher => {
    if (!made) throw new Error(`the gpg publisher ${email} exists only from its suite's beforeAll to its afterAll`);
    return made;
  };
  return {
    get home() {
      return current().home;
    },
    get fingerprint() {
      return current().fingerprint;
    },
    get armoredPublicKey() {
      return current().armoredPublicKey;
    },
    sign: (text) => current().sign(text),
    dispose: async () => undefined,
  };
}
