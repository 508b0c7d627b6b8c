import { broadcasterKeyPaths } from '../pgp/broadcaster-key';
import { errorCode, StartupError } from './startup-error';

/**
 * Why the broadcaster key could not be read at start, as one line that says what to do; an error
 * it cannot explain better is returned as it is.
 */
export function explainKeyLoadFailure(err: unknown, keysDir: string): unknown {
  const file = broadcasterKeyPaths(keysDir).privateKey;
  const message = (err as Error)?.message ?? '';
  // openpgp.js: "Error decrypting private key: Incorrect key passphrase".
  if (/incorrect key passphrase/i.test(message)) {
    return new StartupError(
      `TOCSIN_KEY_PASSPHRASE does not unlock the broadcaster key at ${file}: set the passphrase it was created with`,
      { cause: err },
    );
  }
  const code = errorCode(err);
  if (code === 'ENOTDIR') return new StartupError(`TOCSIN_KEYS_DIR ${keysDir} is not a directory (ENOTDIR): set it to the directory of the keys`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') {
    return new StartupError(`cannot read the broadcaster key at ${file} (${code}): make TOCSIN_KEYS_DIR ${keysDir} readable by this process`, { cause: err });
  }
  return err;
}
