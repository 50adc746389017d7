// Extraction's plan for shared data: every reference a file makes to an extent another file can
// reach, kept in typed arrays (a few dozen bytes each, no object per reference), then taken in
// logical-address order so each extent is read, verified and decompressed once and written to all
// the files that use it while it is in hand, the disk read front to back.

/** A growable column of numbers. */
class Column<T extends Float64Array | Uint32Array | Uint8Array> {
  data: T;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }

  set(i: number, v: number): void {
    if (i >= this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[i] = v;
  }
}

export interface ExtentRef {
  /** The extent: its logical start, on-disk and decompressed sizes, compression. */
  diskBytenr: bigint;
  diskNumBytes: bigint;
  ramBytes: bigint;
  compression: number;
  /** The referenced bytes: [offset, offset + length) of the (decompressed) extent, at fileOffset. */
  offset: bigint;
  length: bigint;
  fileOffset: bigint;
  /** The file's index among the pending files. */
  file: number;
  /** The file has no data checksums (its sharers with checksums are read apart). */
  nodatasum: boolean;
}

/** Largest value a column holds exactly. */
const EXACT = BigInt(Number.MAX_SAFE_INTEGER);

export class DataPlan {
  private n = 0;
  private readonly bytenr = new Column((k) => new Float64Array(k));
  private readonly diskBytes = new Column((k) => new Float64Array(k));
  private readonly ram = new Column((k) => new Float64Array(k));
  private readonly offset = new Column((k) => new Float64Array(k));
  private readonly length = new Column((k) => new Float64Array(k));
  private readonly fileOffset = new Column((k) => new Float64Array(k));
  private readonly file = new Column((k) => new Uint32Array(k));
  /** compression type, and 0x80 for a file without checksums. */
  private readonly flags = new Column((k) => new Uint8Array(k));

  get size(): number {
    return this.n;
  }

  /** Whether every value of the reference fits a column exactly (if not, the caller reads it on its own). */
  static fits(r: ExtentRef): boolean {
    return r.diskBytenr + r.diskNumBytes <= EXACT && r.ramBytes <= EXACT && r.offset + r.length <= EXACT && r.fileOffset + r.length <= EXACT;
  }

  add(r: ExtentRef): void {
    if (!DataPlan.fits(r)) throw new RangeError('internal: reference does not fit the plan');
    const i = this.n++;
    this.bytenr.set(i, Number(r.diskBytenr));
    this.diskBytes.set(i, Number(r.diskNumBytes));
    this.ram.set(i, Number(r.ramBytes));
    this.offset.set(i, Number(r.offset));
    this.length.set(i, Number(r.length));
    this.fileOffset.set(i, Number(r.fileOffset));
    this.file.set(i, r.file);
    this.flags.set(i, r.compression | (r.nodatasum ? 0x80 : 0));
  }

  /**
   * Reference indices in reading order: by extent, those without checksums after those with (they are
   * read apart), then by offset into the extent.
   */
  order(): Uint32Array {
    const idx = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    const b = this.bytenr.data;
    const f = this.flags.data;
    const o = this.offset.data;
    idx.sort((x, y) => b[x]! - b[y]! || (f[x]! & 0x80) - (f[y]! & 0x80) || o[x]! - o[y]!);
    return idx;
  }

  /** Reference `i` (numbers exact: add() checked them). */
  ref(i: number): PlannedRef {
    const flags = this.flags.data[i]!;
    return {
      diskBytenr: this.bytenr.data[i]!, diskNumBytes: this.diskBytes.data[i]!, ramBytes: this.ram.data[i]!,
      compression: flags & 0x7f, nodatasum: (flags & 0x80) !== 0,
      offset: this.offset.data[i]!, length: this.length.data[i]!, fileOffset: this.fileOffset.data[i]!, file: this.file.data[i]!,
    };
  }
}

export interface PlannedRef {
  diskBytenr: number;
  diskNumBytes: number;
  ramBytes: number;
  compression: number;
  nodatasum: boolean;
  offset: number;
  length: number;
  fileOffset: number;
  file: number;
}
