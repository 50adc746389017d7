// A bounded map for caches that are read far more than written: two generations of at most `size`
// entries each. A lookup checks the young one, then the old one (and moves what it finds there to the
// young one); when the young one is full it becomes the old one and the old one is dropped. Nothing
// is done per hit, and forgetting costs nothing per entry: the recently used survive, the rest go in
// bulk. (An LRU Map deletes and re-inserts on every hit; evicting a Map's oldest key one at a time
// slowed down as deletions piled up.)

export class TwoGenerationMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly size: number) {}

  get(key: K): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.size) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
