// The page cache the read path goes through. Keys are built by the read path according to the cache
// policy (page-key.ts); the cache stores pages, keeps them inside a page budget and accounts for it.
//
// Reclaim is modelled on the kernel's (mm/vmscan.c, mm/swap.c, mm/workingset.c):
// - a new page enters the head of the inactive list, marked referenced when it was read on behalf of a
//   caller (readahead pages are not);
// - an access to an unreferenced page marks it referenced; an access to a referenced inactive page
//   promotes it to the active list (folio_mark_accessed);
// - reclaim takes the inactive list's tail; before that, pages move from the active tail to the
//   inactive head while the inactive list is below its share (inactive_is_low: inactive * ratio <
//   active, ratio = int_sqrt(10 * budget in GiB), 1 below 1 GiB);
// - dirty pages are not reclaimed: they are rotated, and when nothing clean is left the owner's flush
//   hook writes them back first;
// - an evicted page leaves a shadow entry; a miss on it is a refault, and a refault whose distance is
//   within the active list's size is activated at once (workingset_refault).
// `lru` is plain least-recently-used over one list, for comparison.

import { CachedPage } from './cached-page.js';
import { newReadCounters, type ReadCounters } from './counters.js';
import { PageList } from './page-list.js';
import { ShadowEntries } from './shadow.js';

export { CachedPage } from './cached-page.js';

export type ReclaimPolicy = 'active-inactive' | 'lru';

export const RECLAIM_POLICIES: readonly ReclaimPolicy[] = ['active-inactive', 'lru'];

export interface PageCacheOptions {
  /** Page budget (default: unlimited). */
  maxPages?: number;
  reclaim?: ReclaimPolicy;
  /** Where residency, eviction and refault counts go (shared with the read path). */
  counters?: ReadCounters;
  /** Bytes per page, for the inactive list's share (default 4096). */
  pageSize?: number;
}

export interface InsertOptions {
  /** Logical data the page holds (for duplicate counting); none for holes, inline and dirty data. */
  identity?: string | undefined;
  /** inodeId() of the inode the page is read for, and its page index there. */
  owner?: string | undefined;
  index?: number;
  /** Read on behalf of a caller (marked referenced), as opposed to readahead. */
  accessed?: boolean;
  dirty?: boolean;
  /** Keyed by inode rather than by logical address. */
  perInode?: boolean;
  /** Key whose eviction this insert would undo (a dirty page replacing a page of its file's data). */
  refaultKey?: string;
}

/** Kernel's int_sqrt(10 * gb) for the file LRU's inactive:active target ratio. */
function inactiveRatio(maxPages: number, pageSize: number): number {
  if (!Number.isFinite(maxPages)) return 1;
  const gb = Math.floor((maxPages * pageSize) / 2 ** 30);
  return gb ? Math.floor(Math.sqrt(10 * gb)) : 1;
}

export class PageCache {
  readonly maxPages: number;
  readonly reclaim: ReclaimPolicy;
  readonly counters: ReadCounters;
  /** Called when reclaim finds only dirty pages: must write some back (make them clean). */
  flush: (() => void) | undefined;
  private readonly pages = new Map<string, CachedPage>();
  private readonly inactive = new PageList();
  private readonly active = new PageList();
  private readonly byOwner = new Map<string, Set<CachedPage>>();
  private readonly identities = new Map<string, number>();
  private readonly shadows: ShadowEntries;
  /** The kernel's nonresident age: advanced by every eviction and activation. */
  private clock = 0;
  private readonly ratio: number;

  constructor(options: PageCacheOptions = {}) {
    const max = options.maxPages ?? Infinity;
    this.maxPages = max === Infinity ? Infinity : Math.max(1, Math.floor(max));
    this.reclaim = options.reclaim ?? 'active-inactive';
    this.counters = options.counters ?? newReadCounters();
    this.ratio = inactiveRatio(this.maxPages, options.pageSize ?? 4096);
    // Refault distances beyond the whole budget can never activate, so remembering more is useless.
    this.shadows = new ShadowEntries(Number.isFinite(this.maxPages) ? 2 * this.maxPages : 0);
  }

  /** Pages resident now. */
  get size(): number {
    return this.pages.size;
  }

  get activeCount(): number {
    return this.active.length;
  }

  get inactiveCount(): number {
    return this.inactive.length;
  }

  // --- the simple interface (library readers) -------------------------------------------------

  /** The page's bytes if resident (an access), else undefined. */
  get(key: string): Buffer | undefined {
    return this.lookup(key)?.data;
  }

  has(key: string): boolean {
    return this.pages.has(key);
  }

  set(key: string, data: Buffer): void {
    const page = this.pages.get(key);
    if (page) page.data = data;
    else this.insert(key, data, { accessed: true });
  }

  // --- the full interface ------------------------------------------------------------------------

  /** Resident page without counting an access. */
  peek(key: string): CachedPage | undefined {
    return this.pages.get(key);
  }

  /** Resident page, counted as an access by `user` (an inodeId()) at its page `index`. */
  lookup(key: string, user?: string, index = 0): CachedPage | undefined {
    const page = this.pages.get(key);
    if (!page) return undefined;
    if (user !== undefined) {
      if (page.owner === undefined) this.own(page, user, index);
      else if (page.owner !== user) page.shared = true;
    }
    this.markAccessed(page);
    return page;
  }

  /** Add a page that is not resident (a fill after a miss, or a new dirty page). */
  insert(key: string, data: Buffer | undefined, options: InsertOptions = {}): CachedPage {
    const existing = this.pages.get(key);
    if (existing) {
      existing.data = data;
      return existing;
    }
    this.makeRoom();
    const page = new CachedPage(key, data);
    page.referenced = options.accessed ?? false;
    page.perInode = options.perInode ?? false;
    this.pages.set(key, page);
    this.own(page, options.owner, options.index ?? 0);
    this.setIdentity(page, options.identity);
    if (options.dirty) this.setDirty(page, true);
    const c = this.counters;
    c.pages_resident = this.pages.size;
    if (c.pages_resident > c.pages_peak) c.pages_peak = c.pages_resident;
    const evictedAt = this.shadows.take(options.refaultKey ?? key);
    if (evictedAt !== undefined) {
      c.refaults++;
      if (this.reclaim === 'active-inactive' && this.clock - evictedAt <= this.active.length) {
        page.referenced = false;
        this.activate(page);
        return page;
      }
    }
    this.inactive.pushHead(page);
    return page;
  }

  /** Give a resident page another key (a write moving it to its inode, writeback moving it to its new address). */
  rekey(page: CachedPage, key: string, options: { identity?: string | undefined; perInode: boolean; owner: string; index: number }): void {
    if (this.pages.get(page.key) !== page) throw new Error(`internal: rekey of a page that is not resident (${page.key})`);
    if (this.pages.has(key)) throw new Error(`internal: rekey onto a resident page (${key})`);
    this.pages.delete(page.key);
    this.disown(page);
    page.key = key;
    page.perInode = options.perInode;
    page.shared = false;
    this.pages.set(key, page);
    this.own(page, options.owner, options.index);
    this.setIdentity(page, options.identity);
  }

  setIdentity(page: CachedPage, identity: string | undefined): void {
    if (page.identity === identity) return;
    if (page.identity !== undefined) {
      const n = this.identities.get(page.identity)!;
      if (n > 1) {
        this.identities.set(page.identity, n - 1);
        this.counters.duplicate_pages--;
      } else this.identities.delete(page.identity);
    }
    page.identity = identity;
    if (identity !== undefined) {
      const n = this.identities.get(identity) ?? 0;
      this.identities.set(identity, n + 1);
      if (n > 0) {
        const c = this.counters;
        c.duplicate_pages++;
        if (c.duplicate_pages > c.duplicate_pages_peak) c.duplicate_pages_peak = c.duplicate_pages;
      }
    }
  }

  setDirty(page: CachedPage, dirty: boolean): void {
    if (page.dirty === dirty) return;
    page.dirty = dirty;
    this.counters.dirty_pages += dirty ? 1 : -1;
  }

  /** Drop a resident page because it is stale or unneeded (no shadow entry: it was not reclaimed). */
  invalidate(page: CachedPage): void {
    this.drop(page);
    this.counters.invalidations++;
  }

  /** Forget evictions of pages `owner` alone had in [from, to) (its range was truncated or overwritten). */
  forgetEvicted(owner: string, from: number, to: number): void {
    this.shadows.forgetOwned(owner, from, to);
  }

  /** Pages an inode owns (it read them first, or they are its own). */
  pagesOf(owner: string): ReadonlySet<CachedPage> | undefined {
    return this.byOwner.get(owner);
  }

  /** Every clean page is dropped (what `echo 1 > /proc/sys/vm/drop_caches` does); returns how many. */
  dropClean(): number {
    let n = 0;
    for (const page of [...this.pages.values()]) {
      if (page.dirty) continue;
      this.invalidate(page);
      n++;
    }
    return n;
  }

  entries(): IterableIterator<CachedPage> {
    return this.pages.values();
  }

  /** How many resident pages hold each identity more than once (0 when no data is held twice). */
  get duplicates(): number {
    return this.counters.duplicate_pages;
  }

  // --- reclaim --------------------------------------------------------------------------------------

  private markAccessed(page: CachedPage): void {
    if (this.reclaim === 'lru') {
      page.list!.remove(page);
      this.inactive.pushHead(page);
      return;
    }
    if (!page.referenced) {
      page.referenced = true;
      return;
    }
    if (page.list === this.inactive) {
      page.referenced = false;
      this.inactive.remove(page);
      this.activate(page);
    }
  }

  private activate(page: CachedPage): void {
    this.active.pushHead(page);
    this.clock++;
    this.counters.activations++;
  }

  private makeRoom(): void {
    if (this.pages.size < this.maxPages) return;
    let flushed = false;
    while (this.pages.size >= this.maxPages) {
      const victim = this.findVictim();
      if (victim) {
        this.evict(victim);
        continue;
      }
      if (flushed || !this.flush) throw new Error(`internal: page budget of ${this.maxPages} pages is all dirty and nothing can write it back`);
      flushed = true;
      this.flush();
    }
  }

  /** A clean page to reclaim, or undefined when every resident page is dirty. */
  private findVictim(): CachedPage | undefined {
    if (this.reclaim === 'active-inactive') {
      while (this.active.length > 0 && this.inactive.length * this.ratio < this.active.length) this.deactivate();
    }
    // Dirty pages at the tail go back to the head (the kernel marks them for reclaim and moves on).
    for (let scanned = this.inactive.length; scanned > 0; scanned--) {
      const page = this.inactive.tail!;
      if (!page.dirty) return page;
      this.inactive.remove(page);
      this.inactive.pushHead(page);
    }
    for (let scanned = this.active.length; scanned > 0; scanned--) {
      const page = this.deactivate();
      if (!page.dirty) return page;
    }
    return undefined;
  }

  private deactivate(): CachedPage {
    const page = this.active.tail!;
    this.active.remove(page);
    this.inactive.pushHead(page);
    return page;
  }

  private evict(page: CachedPage): void {
    this.clock++;
    this.shadows.remember(page, this.clock);
    this.drop(page);
    this.counters.evictions++;
  }

  private drop(page: CachedPage): void {
    page.list?.remove(page);
    this.pages.delete(page.key);
    this.disown(page);
    this.setIdentity(page, undefined);
    if (page.dirty) this.setDirty(page, false);
    this.counters.pages_resident = this.pages.size;
  }

  private own(page: CachedPage, owner: string | undefined, index: number): void {
    page.owner = owner;
    page.index = index;
    if (owner === undefined) return;
    let set = this.byOwner.get(owner);
    if (!set) this.byOwner.set(owner, (set = new Set()));
    set.add(page);
  }

  private disown(page: CachedPage): void {
    if (page.owner === undefined) return;
    const set = this.byOwner.get(page.owner);
    if (set) {
      set.delete(page);
      if (set.size === 0) this.byOwner.delete(page.owner);
    }
    page.owner = undefined;
  }
}

/** Plain LRU over a page budget: the library's cache for cat, extract and readFile. */
export class LruPageCache extends PageCache {
  constructor(maxPages: number = Infinity, counters?: ReadCounters) {
    super({ maxPages, reclaim: 'lru', ...(counters ? { counters } : {}) });
  }
}
