// Memory of evicted pages, like the kernel's shadow entries (mm/workingset.c): for each evicted key,
// the value of the eviction clock when it left. A miss on a remembered key is a refault, and its refault
// distance (evictions and activations since) says whether the page would have stayed resident with
// that much more memory. Truncating a range of a file forgets its shadows, as truncation clears them
// from the kernel's mapping. The kernel bounds shadow entries with a shrinker; here the oldest are
// forgotten past a fixed count.

import type { CachedPage } from './cached-page.js';

interface Shadow {
  clock: number;
  owner: string | undefined;
  index: number;
  /** The page belonged to its owner alone (keyed by inode, or used by no other inode). */
  own: boolean;
}

export class ShadowEntries {
  private readonly entries = new Map<string, Shadow>();
  private readonly byOwner = new Map<string, Set<string>>();

  constructor(private readonly max: number) {}

  remember(page: CachedPage, clock: number): void {
    if (this.max <= 0) return;
    this.forget(page.key);
    this.entries.set(page.key, { clock, owner: page.owner, index: page.index, own: page.perInode || !page.shared });
    if (page.owner !== undefined) {
      let keys = this.byOwner.get(page.owner);
      if (!keys) this.byOwner.set(page.owner, (keys = new Set()));
      keys.add(page.key);
    }
    if (this.entries.size > this.max) this.forget(this.entries.keys().next().value as string);
  }

  /** The eviction clock of `key` if it is remembered; forgets it. */
  take(key: string): number | undefined {
    const shadow = this.entries.get(key);
    if (shadow) this.forget(key);
    return shadow?.clock;
  }

  /** Forget the shadows of pages `owner` alone had, with index in [from, to). */
  forgetOwned(owner: string, from: number, to: number): void {
    const keys = this.byOwner.get(owner);
    if (!keys) return;
    for (const key of [...keys]) {
      const s = this.entries.get(key)!;
      if (s.own && s.index >= from && s.index < to) this.forget(key);
    }
  }

  private forget(key: string): void {
    const s = this.entries.get(key);
    if (!s) return;
    this.entries.delete(key);
    if (s.owner !== undefined) {
      const keys = this.byOwner.get(s.owner)!;
      keys.delete(key);
      if (keys.size === 0) this.byOwner.delete(s.owner);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
