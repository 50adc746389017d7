// An intrusive doubly linked list of cached pages, most recently added at the head, reclaim from the
// tail: the shape of the kernel's LRU lists. Intrusive so moving a page costs O(1) and no allocation.

import type { CachedPage } from './cached-page.js';

export class PageList {
  head: CachedPage | undefined;
  tail: CachedPage | undefined;
  length = 0;

  pushHead(page: CachedPage): void {
    page.list = this;
    page.prev = undefined;
    page.next = this.head;
    if (this.head) this.head.prev = page;
    else this.tail = page;
    this.head = page;
    this.length++;
  }

  remove(page: CachedPage): void {
    if (page.prev) page.prev.next = page.next;
    else this.head = page.next;
    if (page.next) page.next.prev = page.prev;
    else this.tail = page.prev;
    page.prev = undefined;
    page.next = undefined;
    page.list = undefined;
    this.length--;
  }
}
