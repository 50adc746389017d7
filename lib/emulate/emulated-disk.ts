// Where the emulator's writes go: new extents at logical addresses past everything the image's chunk
// map covers, so they can never be confused with the image's data. The image itself is never written.
// Bytes are kept only when the emulation keeps data (for checking what reads return); counting-only
// runs keep nothing but the allocation cursor.

import type { ExtentStore } from './kernel-read-path.js';

const GiB = 1n << 30n;

export class EmulatedDisk implements ExtentStore {
  private next: bigint;
  private readonly pages: Map<bigint, Buffer> | undefined;

  /** `imageEnd`: end of the image's logical address space. */
  constructor(imageEnd: bigint, private readonly sectorsize: number, keepData: boolean) {
    this.next = ((imageEnd + GiB - 1n) / GiB + 1n) * GiB;
    this.pages = keepData ? new Map() : undefined;
  }

  /** A fresh logical range of `length` bytes (sector aligned). */
  allocate(length: bigint): bigint {
    const at = this.next;
    const S = BigInt(this.sectorsize);
    this.next += ((length + S - 1n) / S) * S;
    return at;
  }

  /** Store one sector's bytes (data-keeping runs only). */
  writeSector(logical: bigint, data: Buffer | undefined): void {
    if (this.pages && data) this.pages.set(logical, data);
  }

  read(logical: bigint, length: number): Buffer | undefined {
    if (!this.pages) return undefined;
    const S = this.sectorsize;
    const out = Buffer.alloc(length);
    for (let at = 0; at < length; at += S) {
      const sector = this.pages.get(logical + BigInt(at));
      if (!sector) throw new Error(`internal: emulated sector ${logical + BigInt(at)} was never written`);
      sector.copy(out, at, 0, Math.min(S, length - at));
    }
    return out;
  }
}
