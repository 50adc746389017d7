// A VMDK hosted sparse extent (magic "KDMV"): grains (grainSize sectors) mapped by a grain directory of
// grain tables; in streamOptimized extents each grain is zlib-compressed behind a 12-byte marker, and
// the header with the real grain directory offset may be in the footer at the end of the file.
// Numbers are little-endian.

import { CorruptError, UnsupportedError } from '../errors.js';
import { le16, le32, le64, struct, u8 } from '../ondisk/struct.js';
import { ByteCache } from './byte-cache.js';
import { safeNumber } from './fields.js';
import { inflateInto } from './inflate.js';
import { MappedSource, type Run } from './mapped-source.js';
import type { ContainerInfo, ImageSource } from './source.js';

export const VMDK_SPARSE_MAGIC = 0x564d444b;
export const sparseHeader = struct('vmdk_sparse_header', {
  magic: le32, version: le32, flags: le32, capacity: le64, grain_size: le64, descriptor_offset: le64, descriptor_size: le64,
  num_gtes_per_gt: le32, rgd_offset: le64, gd_offset: le64, overhead: le64, unclean_shutdown: u8, c1: u8, c2: u8, c3: u8, c4: u8,
  compress_algorithm: le16,
});
export type SparseHeader = ReturnType<typeof sparseHeader.decode>;
const GD_AT_END = 0xffffffffffffffffn;
const FLAG_ZEROED_GRAIN = 1 << 2;
const FLAG_COMPRESSED = 1 << 16;
const COMPRESS_DEFLATE = 1;
/** VMware caps grains at 128 sectors in practice; the format allows powers of two, we take up to 2 MiB. */
const MAX_GRAIN_SECTORS = 4096;
const CACHE_BYTES = 8 * 1024 * 1024;

export class SparseExtent extends MappedSource {
  readonly size: number;
  private readonly grain: number;
  private readonly tables = new ByteCache<Buffer>(CACHE_BYTES);
  private readonly grains = new ByteCache<Uint8Array>(CACHE_BYTES);

  private constructor(
    readonly name: string,
    private readonly file: ImageSource,
    private readonly h: SparseHeader,
    private readonly gd: Buffer,
    size: number,
    readonly container: ContainerInfo,
  ) {
    super([file]);
    this.size = size;
    this.grain = Number(h.grain_size) * 512;
  }

  /** `size` is the extent's length as the descriptor gives it (the capacity for a monolithic file). */
  static async open(file: ImageSource, size: number | undefined, info: ContainerInfo): Promise<SparseExtent> {
    const device = { device: file.name };
    let h = sparseHeader.decode(await file.read(0, 512));
    if (h.gd_offset === GD_AT_END) {
      // streamOptimized written in one pass: the footer (a header copy with the real offsets) sits
      // before the end-of-stream marker, in the second-to-last sector.
      if (file.size < 1536) throw new CorruptError('VMDK stream too short for its footer', device);
      h = sparseHeader.decode(await file.read(file.size - 1024, 512));
      if (h.magic !== VMDK_SPARSE_MAGIC || h.gd_offset === GD_AT_END) throw new CorruptError('VMDK stream footer (second-to-last sector) is not a valid header', device);
    }
    const capacity = safeNumber(h.capacity * 512n);
    const grainSectors = Number(h.grain_size);
    if (capacity === undefined) throw new CorruptError(`VMDK capacity ${h.capacity} sectors is past 2^53 bytes`, device);
    if (h.grain_size < 1n || h.grain_size > BigInt(MAX_GRAIN_SECTORS) || (grainSectors & (grainSectors - 1)) !== 0) throw new CorruptError(`VMDK grain of ${h.grain_size} sectors`, device);
    if (h.num_gtes_per_gt < 1 || h.num_gtes_per_gt > 65536) throw new CorruptError(`VMDK grain tables of ${h.num_gtes_per_gt} entries`, device);
    if (h.flags & FLAG_COMPRESSED && h.compress_algorithm !== COMPRESS_DEFLATE) throw new UnsupportedError(`VMDK compression algorithm ${h.compress_algorithm}`, device);
    const gdEntries = Math.ceil(capacity / (grainSectors * 512) / h.num_gtes_per_gt);
    const gdAt = safeNumber(h.gd_offset * 512n);
    if (gdAt === undefined || gdAt + gdEntries * 4 > file.size) throw new CorruptError(`VMDK grain directory at sector ${h.gd_offset} (${gdEntries} entries) is past the end of the file`, device);
    const gd = await file.read(gdAt, gdEntries * 4);
    info.details.push(['grain size', `${grainSectors * 512}`], ['compressed grains', h.flags & FLAG_COMPRESSED ? 'yes (deflate)' : 'no']);
    return new SparseExtent(file.name, file, h, gd, size ?? capacity, info);
  }

  protected async locate(position: number, max: number): Promise<Run> {
    const g = Math.floor(position / this.grain);
    const inGrain = position - g * this.grain;
    const rest = Math.min(max, this.grain - inGrain);
    const perTable = this.h.num_gtes_per_gt;
    const t = Math.floor(g / perTable);
    // Past the capacity the descriptor may still claim sectors: they read as zeros.
    if (t * 4 >= this.gd.length) return { kind: 'zero', length: rest };
    const gtSector = this.gd.readUInt32LE(t * 4);
    if (gtSector === 0) return { kind: 'zero', length: Math.min(max, (t + 1) * perTable * this.grain - position) };
    const table = await this.tables.through(gtSector, async () => {
      const at = gtSector * 512;
      if (at + perTable * 4 > this.file.size) throw new CorruptError(`VMDK grain directory entry ${t} points at sector ${gtSector}, past the end of the file`, { device: this.name });
      return this.file.read(at, perTable * 4);
    });
    const gte = table.readUInt32LE((g - t * perTable) * 4);
    const where = () => `VMDK grain table at sector ${gtSector} entry ${g - t * perTable} (grain ${g})`;
    if (gte === 0 || (gte === 1 && this.h.flags & FLAG_ZEROED_GRAIN)) return { kind: 'zero', length: rest };
    const at = gte * 512;
    if (this.h.flags & FLAG_COMPRESSED) {
      const data = await this.grains.through(at, () => this.compressedGrain(at, g, where));
      return { kind: 'bytes', data, offset: inGrain, length: rest };
    }
    if (at + inGrain + rest > this.file.size) throw new CorruptError(`${where()} points at sector ${gte}, past the end of the file (${this.file.size} bytes)`, { device: this.name });
    return { kind: 'file', source: this.file, offset: at + inGrain, length: rest };
  }

  private async compressedGrain(at: number, g: number, where: () => string): Promise<Uint8Array> {
    const device = { device: this.name, physical: BigInt(at) };
    if (at + 12 > this.file.size) throw new CorruptError(`${where()} points past the end of the file`, device);
    const marker = await this.file.read(at, 12);
    const lba = marker.readBigUInt64LE(0);
    const size = marker.readUInt32LE(8);
    if (lba !== BigInt(g) * this.h.grain_size) throw new CorruptError(`${where()}: grain marker says sector ${lba}, expected ${BigInt(g) * this.h.grain_size}`, device);
    if (size === 0 || size > 2 * this.grain + 1024 || at + 12 + size > this.file.size) throw new CorruptError(`${where()}: compressed grain of ${size} bytes`, device);
    const out = new Uint8Array(this.grain);
    const r = inflateInto(await this.file.read(at + 12, size), out, 'zlib');
    // The last grain of a disk whose size is not a multiple of the grain holds only what is left.
    if (r.error || (!r.ended && r.produced !== out.length)) throw new CorruptError(`${where()}: compressed grain does not inflate (${r.error ?? 'cut short'})`, device);
    return out;
  }
}
