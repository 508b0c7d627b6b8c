import { z } from 'zod';
import type { FieldProblem } from '../publish/intake-errors';

/**
 * Names each field zod refused by its path in the request, e.g. `document.affected.0.product`,
 * so an error answer says exactly what to fix. `prefix` is where the validated value sits. An
 * unknown field is named itself (`document.exploited`), not the object that holds it. Each field
 * is named once, with the first problem found (zod goes on checking the length of an array
 * given where a string belongs, which would only confuse).
 */
export function fieldProblems(error: z.ZodError, prefix?: string): FieldProblem[] {
  const at = (path: readonly PropertyKey[]) => [...(prefix ? [prefix] : []), ...path.map(String)].join('.') || '(body)';
  const problems = error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ field: at([...i.path, key]), message: 'unknown field: not part of the format, so it is refused rather than ignored' }))
      : [{ field: at(i.path), message: i.message }],
  );
  return problems.filter((p, index) => problems.findIndex((q) => q.field === p.field) === index);
}

/**
 * An absolute http(s) URL, checked with `new URL`. Not zod's `.url()`: it relies on
 * `URL.canParse`, which on Node 20 starts refusing hosts such as `exämple.org` once the process
 * is warm, so acceptance would depend on how long the process had been running.
 */
export function httpUrl(max = 2048) {
  return z
    .string()
    .max(max)
    .refine((u) => {
      try {
        const { protocol } = new URL(u);
        return protocol === 'http:' || protocol === 'https:';
      } catch {
        return false;
      }
    }, 'must be an absolute http(s) URL');
}

/**
 * `?revision=N`: decimal digits only. Number() would also read `1e0`, `0x1`, `+1` and ` 1` as 1,
 * so a malformed query could still name (and, on the signatures route, change) a revision.
 */
export const revisionQuery = z
  .string()
  .regex(/^[1-9][0-9]{0,6}$/, 'must be a whole number of at least 1, in decimal digits only')
  .transform(Number);
