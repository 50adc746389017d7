// Decoded container pieces (L2 tables, inflated clusters and chunks, grain tables, bitmaps) kept in
// memory by a byte budget, least recently used out first. A budget in entries would let a format
// with 2 MiB clusters hold a hundred times what one with 16 KiB clusters does.

export class ByteCache<V extends { length: number }> {
  private readonly map = new Map<number, V>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(key: number): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // Re-inserting moves the key to the young end of the Map's insertion order.
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: number, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
    // A value larger than the whole budget is used once and not kept.
    if (value.length > this.budget) return;
    this.map.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  /** The cached value, or the one `load` makes (cached for next time). */
  async through(key: number, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const v = await load();
    this.set(key, v);
    return v;
  }
}
