/**
 * FNV-1a over the string's UTF-16 units, cut to 30 bits: small integers are stored inline by V8
 * (no heap number per key), and at 100,000 keys a handful collide, which the lists absorb.
 */
function hash30(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/**
 * Ids by a hash of a key (an unsubscribe token, a target), holding neither the keys nor the
 * recipients: a few tens of bytes per id. Hashes collide, so an answer may name ids whose key is
 * another: the caller reads them and keeps those whose key matches.
 */
export function createHashIndex() {
  const ids = new Map<number, string | string[]>();
  return {
    /** Files `id` under `key`; a second time changes nothing. */
    add(key: string, id: string): void {
      const h = hash30(key);
      const held = ids.get(h);
      if (held === undefined) ids.set(h, id);
      else if (typeof held === 'string') {
        if (held !== id) ids.set(h, [held, id]);
      } else if (!held.includes(id)) held.push(id);
    },
    drop(key: string, id: string): void {
      const h = hash30(key);
      const held = ids.get(h);
      if (held === id) ids.delete(h);
      else if (Array.isArray(held)) {
        const rest = held.filter((x) => x !== id);
        ids.set(h, rest.length === 1 ? rest[0]! : rest);
      }
    },
    /** The ids filed under keys with the hash of `key`, in the order they were filed. */
    candidates(key: string): readonly string[] {
      const held = ids.get(hash30(key));
      return held === undefined ? [] : typeof held === 'string' ? [held] : held;
    },
    clear: () => ids.clear(),
  };
}

export type HashIndex = ReturnType<typeof createHashIndex>;
