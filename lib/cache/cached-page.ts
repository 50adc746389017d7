// One page in the cache: its bytes (absent when the cache only accounts), what logical data it holds,
// which inode first used it and whether another did too, and its place on the reclaim lists.

import type { PageList } from './page-list.js';

export class CachedPage {
  /** The policy's key (see page-key.ts). */
  key: string;
  /** Sector-size bytes; undefined when the cache keeps no data (counting only). */
  data: Buffer | undefined;
  /** The logical data held (a logical or compressed page key), undefined for holes, inline and dirty data. */
  identity: string | undefined;
  /** inodeId() of the first inode that used the page. */
  owner: string | undefined;
  /** Another inode used it too: a write by one of them must leave it to the others. */
  shared = false;
  dirty = false;
  /** The kernel's PG_referenced: one access seen on the current list. */
  referenced = false;
  /** Keyed by inode (holes, inline, dirty data, everything under the per-inode policy). */
  perInode = false;
  /** The owner's page index of this page, so an inode's pages in a range can be found. */
  index = 0;
  list: PageList | undefined;
  prev: CachedPage | undefined;
  next: CachedPage | undefined;

  constructor(key: string, data: Buffer | undefined) {
    this.key = key;
    this.data = data;
  }
}
