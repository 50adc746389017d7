// The reader's cache, keyed by logical address: whole decompressed extents, and windows of verified
// uncompressed data. Whatever file reaches the same logical bytes (a snapshot, a reflink, a dedupe)
// finds them here, read, verified and decompressed once. Entries are whole extents or large ranges,
// so the bookkeeping is one Map entry per 128 KiB, budgeted in bytes; the least recently used go first.
//
// An uncompressed window knows which of its sectors it holds: a read fills in the ones it lacks.

/** Span of one uncompressed window, aligned in logical space. */
export const WINDOW_BYTES = 256 * 1024;

export interface Window {
  /** Per sector of the window: 1 when its bytes are held. */
  held: Uint8Array;
  /** Its sectors were checked against their checksums (not read for a NODATASUM file). */
  verified: boolean;
  /** Window-sized: byte i is logical address start + i. */
  data: Buffer;
}

type Entry = { kind: 'extent'; data: Buffer } | ({ kind: 'window' } & Window);

export class ExtentCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get bytesHeld(): number {
    return this.bytes;
  }

  /** The decompressed bytes of the compressed extent at `logical`, if held. */
  extent(logical: number): Buffer | undefined {
    const e = this.touch(extentKey(logical));
    return e?.kind === 'extent' ? e.data : undefined;
  }

  putExtent(logical: number, data: Buffer): void {
    this.put(extentKey(logical), { kind: 'extent', data });
  }

  /** The window starting at `start` (a multiple of WINDOW_BYTES), if held. */
  window(start: number): Window | undefined {
    const e = this.touch(windowKey(start));
    return e?.kind === 'window' ? e : undefined;
  }

  /** A new, empty window for `start` (replacing any held), to be filled by the caller. */
  newWindow(start: number, sectorsize: number, verified: boolean): Window {
    const w: Entry = { kind: 'window', held: new Uint8Array(WINDOW_BYTES / sectorsize), verified, data: Buffer.allocUnsafe(WINDOW_BYTES) };
    this.put(windowKey(start), w);
    return w;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private touch(key: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e;
  }

  private put(key: number, entry: Entry): void {
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.data.length;
      this.entries.delete(key);
    }
    if (entry.data.length > this.budgetBytes) return;
    this.bytes += entry.data.length;
    this.entries.set(key, entry);
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(k);
      this.bytes -= e.data.length;
    }
  }
}

// One Map for both kinds: a compressed extent and a window may start at the same logical address
// (the window holds uncompressed data further on), so the low bit tells them apart. Addresses are
// below 2^52 (the caller checks), so the keys are exact.
const extentKey = (logical: number) => logical * 2 + 1;
const windowKey = (start: number) => start * 2;

/** Largest logical address the cache keys exactly. */
export const MAX_CACHED_LOGICAL = 2 ** 51;
