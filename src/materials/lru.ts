/**
 * A least-recently-used map with a fixed capacity. A `Map` keeps insertion order, so moving a
 * key to the end on each use makes the first key the least recently used: O(1) per operation.
 * Every value that leaves (eviction, delete, clear) goes through `onRemove`, which is where the
 * caching manager zeroes data keys.
 */
export class LruMap<K, V> {
  readonly capacity: number;
  readonly #map = new Map<K, V>();
  readonly #onRemove: (value: V, key: K) => void;

  constructor(capacity: number, onRemove: (value: V, key: K) => void = () => {}) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`"capacity" expected a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#onRemove = onRemove;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Inserts or replaces (the old value is removed through `onRemove`), evicting the LRU entry when full. */
  set(key: K, value: V): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      if (old !== value) this.#onRemove(old, key);
    }
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) {
      const first = this.#map.keys().next();
      if (first.done) break;
      this.delete(first.value);
    }
  }

  delete(key: K): boolean {
    const value = this.#map.get(key);
    if (value === undefined) return false;
    this.#map.delete(key);
    this.#onRemove(value, key);
    return true;
  }

  /** Removes every entry for which `drop` is true. */
  prune(drop: (value: V, key: K) => boolean): void {
    for (const [key, value] of [...this.#map]) if (drop(value, key)) this.delete(key);
  }

  clear(): void {
    this.prune(() => true);
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }
}
