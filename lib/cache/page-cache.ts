// The page cache the read path goes through. Keys are strings built by the read path according to
// the cache policy (see page-key.ts); the cache itself only stores pages and evicts under a budget.

export interface PageCache {
  /** Sector-size page for `key`, or undefined (a miss). */
  get(key: string): Buffer | undefined;
  /** Is the page resident? Does not count as an access. */
  has(key: string): boolean;
  set(key: string, page: Buffer): void;
  /** Pages resident now. */
  readonly size: number;
}

/** Plain LRU over a page budget; the library's default for cat, extract and readFile. */
export class LruPageCache implements PageCache {
  private readonly pages = new Map<string, Buffer>();
  constructor(private readonly maxPages: number = Infinity) {}

  get(key: string): Buffer | undefined {
    const page = this.pages.get(key);
    if (page) {
      this.pages.delete(key);
      this.pages.set(key, page);
    }
    return page;
  }

  has(key: string): boolean {
    return this.pages.has(key);
  }

  set(key: string, page: Buffer): void {
    this.pages.delete(key);
    this.pages.set(key, page);
    while (this.pages.size > this.maxPages) {
      this.pages.delete(this.pages.keys().next().value as string);
    }
  }

  get size(): number {
    return this.pages.size;
  }
}
