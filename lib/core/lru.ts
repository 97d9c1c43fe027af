/**
 * A small least-recently-used cache with O(1) `get` and `set`.
 *
 * A `Map` keeps its keys in insertion order, so re-inserting a key on every hit
 * keeps the least recently used entry first; eviction removes that entry.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();

  /**
   * @param maxEntries how many entries to keep before evicting the least
   *   recently used one; a whole number of at least 1.
   */
  constructor(private readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new Error('LruCache maxEntries must be a whole number of at least 1');
    }
  }

  /** Returns the value and marks the entry as most recently used. */
  get(key: string): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** Stores the value as most recently used, evicting the least recently used entry if full. */
  set(key: string, value: V): void {
    if (this.entries.has(key)) {
      this.entries.delete(key);
    } else if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  /** Removes an entry; returns whether it was present. */
  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }
}
