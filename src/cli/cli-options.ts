import { InvalidArgumentError } from 'commander';

/** `--revision N`: decimal digits, 1 or more, as the API reads `?revision=N`. */
export function revisionOption(value: string): number {
  if (!/^[1-9][0-9]{0,6}$/.test(value)) throw new InvalidArgumentError('must be a whole number of at least 1, in decimal digits only');
  return Number(value);
}

/**
 * `--sha256 HEX`: a signed document's SHA-256, as the API reads `?sha256=`. Upper case is taken
 * (sha256sum prints lower, some tools upper) and sent lower.
 */
export function sha256Option(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('must be the SHA-256 of the signed document: 64 hex digits');
  return value.toLowerCase();
}

/** `--interval SECONDS`: at least 0.1 s, so that a typo cannot turn polling into a flood. */
export function intervalOption(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(seconds) || seconds < 0.1) throw new InvalidArgumentError('must be a number of seconds, at least 0.1');
  return seconds * 1000;
}

/** A repeatable option (`--group a --group b`): every value, in order; undefined when never given. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** An option that takes one of `choices`, checked here so that a typo is bad usage (exit 2), not a request. */
export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** {@link oneOf}, repeatable. */
export function repeatableOneOf<T extends string>(choices: readonly T[]): (value: string, previous: T[] | undefined) => T[] {
  const one = oneOf(choices);
  return (value, previous) => [...(previous ?? []), one(value)];
}
