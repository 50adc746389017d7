// Memory of evicted pages, like the kernel's shadow entries (mm/workingset.c): for each evicted key,
// the value of the eviction clock when it left. A miss on a remembered key is a refault, and its refault
// distance (evictions and activations since) says whether the page would have stayed resident with
// that much more memory. Truncating a range of a file forgets its shadows, as truncation clears them
// from the kernel's mapping. The kernel bounds shadow entries with a shrinker; here the oldest are
// forgotten past a fixed count (a queue of keys, so forgetting the oldest is O(1)).

import type { CachedPage } from './cached-page.js';

interface Shadow {
  clock: number;
  owner: string | undefined;
  index: number;
  /** The page belonged to its owner alone (keyed by inode, or used by no other inode). */
  own: boolean;
  /** Position in the age queue. */
  seq: number;
}

export class ShadowEntries {
  private readonly entries = new Map<string, Shadow>();
  private readonly byOwner = new Map<string, Set<string>>();
  private queueKeys: string[] = [];
  private queueSeqs: number[] = [];
  private head = 0;
  private seq = 0;

  constructor(private readonly max: number) {}

  remember(page: CachedPage, clock: number): void {
    if (this.max <= 0) return;
    this.forget(page.key);
    const seq = ++this.seq;
    this.entries.set(page.key, { clock, owner: page.owner, index: page.index, own: page.perInode || !page.shared, seq });
    this.queueKeys.push(page.key);
    this.queueSeqs.push(seq);
    if (page.owner !== undefined) {
      let keys = this.byOwner.get(page.owner);
      if (!keys) this.byOwner.set(page.owner, (keys = new Set()));
      keys.add(page.key);
    }
    while (this.entries.size > this.max) this.forgetOldest();
    // Slots of shadows taken (refaults) or forgotten (truncation) stay in the queue until the head
    // passes them, and the head only moves when the entries are full: with refaults keeping the
    // entries below `max`, the queue would grow with every eviction. Compacting once stale slots
    // outnumber live ones keeps it within twice the entries, at amortized O(1) per eviction.
    const slots = this.queueKeys.length - this.head;
    if (slots > 1024 && slots > 2 * this.entries.size) this.compact();
  }

  /** Slots in the age queue, stale ones included (for tests of its bound). */
  get queueLength(): number {
    return this.queueKeys.length - this.head;
  }

  private compact(): void {
    const keys: string[] = [];
    const seqs: number[] = [];
    for (let i = this.head; i < this.queueKeys.length; i++) {
      const key = this.queueKeys[i]!;
      const seq = this.queueSeqs[i]!;
      if (this.entries.get(key)?.seq !== seq) continue;
      keys.push(key);
      seqs.push(seq);
    }
    this.queueKeys = keys;
    this.queueSeqs = seqs;
    this.head = 0;
  }

  /** The eviction clock of `key` if it is remembered; forgets it. */
  take(key: string): number | undefined {
    const shadow = this.entries.get(key);
    if (!shadow) return undefined;
    this.forget(key);
    return shadow.clock;
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

  get size(): number {
    return this.entries.size;
  }

  private forgetOldest(): void {
    while (this.head < this.queueKeys.length) {
      const key = this.queueKeys[this.head]!;
      const seq = this.queueSeqs[this.head]!;
      this.head++;
      if (this.entries.get(key)?.seq === seq) {
        this.forget(key);
        return;
      }
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
}
