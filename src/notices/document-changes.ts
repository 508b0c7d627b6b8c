/**
 * Which top-level fields of a signed document differ between two revisions, sorted by name: what
 * an update notice lists as `changes`. `revision` always differs and says nothing, so it is left
 * out. Values compare by content, not by how the JSON was written: key order and spacing inside
 * an object are not a change, array order is.
 */
export function changedFields(previousDocument: string, document: string): string[] {
  const before = JSON.parse(previousDocument) as Record<string, unknown>;
  const after = JSON.parse(document) as Record<string, unknown>;
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  names.delete('revision');
  return [...names].filter((name) => canonical(before[name]) !== canonical(after[name])).sort();
}

/** JSON with object keys sorted at every depth; `undefined` (a field absent) stays distinct from any value. */
function canonical(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
