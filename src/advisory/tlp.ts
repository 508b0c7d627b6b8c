import { z } from 'zod';

/**
 * The Traffic Light Protocol 2.0 labels a broadcaster may carry, least restricted first
 * (https://www.first.org/tlp/). TLP:RED is for named individuals only and is never accepted.
 */
export const tlpLabels = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const;
export type Tlp = (typeof tlpLabels)[number];

/** The label of a document or record that carries none: TLP:CLEAR. */
export const tlpOf = (x: { tlp?: Tlp | undefined }): Tlp => x.tlp ?? 'CLEAR';

/** True when a recipient cleared up to `allowed` may receive something labelled `label`. */
export function tlpAllows(allowed: Tlp, label: Tlp): boolean {
  return tlpLabels.indexOf(allowed) >= tlpLabels.indexOf(label);
}

/** A recipient group's name, as `audience` and a recipient's `groups` spell it, e.g. `distros`. */
export const groupNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lower-case letters, digits, "_" or "-", starting with a letter or digit');
