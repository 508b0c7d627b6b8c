import type { z } from 'zod';
import type { FieldProblem } from '../publish/intake-errors';

/**
 * Names each field zod refused by its path in the request, e.g. `document.affected.0.product`,
 * so an error answer says exactly what to fix. `prefix` is where the validated value sits.
 */
export function fieldProblems(error: z.ZodError, prefix?: string): FieldProblem[] {
  return error.issues.map((i) => {
    const path = [...(prefix ? [prefix] : []), ...i.path.map(String)].join('.');
    return { field: path || '(body)', message: i.message };
  });
}
