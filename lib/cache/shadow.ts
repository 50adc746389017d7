// Memory of evicted pages, like the kernel's shadow entries (mm/workingset.c): for each evicted key,
// the value of the eviction clock when it left. A miss on a remembered key is a refault, and its refault
// distance (evictions and activations since) says whether the page would have stayed resident with
// that much more memory. The kernel bounds shadow entries with a shrinker; here the oldest are
// forgotten past a fixed count.

export class ShadowEntries {
  private readonly entries = new Map<string, number>();

  constructor(private readonly max: number) {}

  remember(key: string, clock: number): void {
    if (this.max <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, clock);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The eviction clock of `key` if it is remembered; forgets it. */
  take(key: string): number | undefined {
    const clock = this.entries.get(key);
    if (clock !== undefined) this.entries.delete(key);
    return clock;
  }

  /** Forget one key (its page was invalidated, not reclaimed). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
