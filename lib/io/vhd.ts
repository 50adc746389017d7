// VHD (Virtual PC / Hyper-V "vpc") images as a byte source: fixed disks are the raw bytes before a
// 512-byte footer; dynamic and differencing disks map blocks through the BAT, and each block's sector
// bitmap says which sectors it holds (the others are zeros, or the parent's in a differencing disk).
// Numbers are big-endian.

import { CorruptError, UnsupportedError } from '../errors.js';
import { struct } from '../ondisk/struct.js';
import { bytes } from '../ondisk/struct.js';
import { ByteCache } from './byte-cache.js';
import { be32, be64, safeNumber } from './fields.js';
import { MappedSource, type Run } from './mapped-source.js';
import { pickParent } from './parent-locator.js';
import type { ContainerInfo, ImageSource } from './source.js';

export const VHD_COOKIE = Buffer.from('conectix', 'latin1');
const SPARSE_COOKIE = Buffer.from('cxsparse', 'latin1');
const footer = struct('vhd_footer', {
  cookie: bytes(8), features: be32, version: be32, data_offset: be64, timestamp: be32, creator_app: bytes(4), creator_version: be32,
  creator_os: be32, original_size: be64, current_size: be64, geometry: be32, disk_type: be32, checksum: be32, unique_id: bytes(16),
});
const dynamicHeader = struct('vhd_dynamic_header', {
  cookie: bytes(8), data_offset: be64, table_offset: be64, version: be32, max_table_entries: be32, block_size: be32, checksum: be32,
  parent_unique_id: bytes(16), parent_timestamp: be32, reserved: be32,
});
const PARENT_NAME_AT = 64;
const LOCATORS_AT = 576;
const DISK_TYPES: Record<number, string> = { 2: 'fixed', 3: 'dynamic', 4: 'differencing' };
const UNALLOCATED = 0xffffffff;
/** Blocks are 2 MiB by default; the format allows any power of two, we take up to 256 MiB. */
const MAX_BLOCK = 256 * 1024 * 1024;
const CACHE_BYTES = 2 * 1024 * 1024;

/** The one's complement of the byte sum with the checksum field taken as zero. */
function vhdChecksum(buf: Buffer, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum += buf[i]!;
  return ~sum >>> 0;
}

export class VhdSource extends MappedSource {
  readonly size: number;
  private readonly bitmaps = new ByteCache<Buffer>(CACHE_BYTES);
  private readonly bitmapSize: number;

  private constructor(
    readonly name: string,
    private readonly file: ImageSource,
    readonly container: ContainerInfo,
    readonly uniqueId: Buffer,
    size: number,
    private readonly differencing: boolean,
    private readonly bat?: Buffer,
    private readonly blockSize = 0,
    parent?: ImageSource,
  ) {
    super([file], parent);
    this.size = size;
    this.bitmapSize = Math.ceil(blockSize / 512 / 8 / 512) * 512;
  }

  static async open(file: ImageSource, openParent: (name: string, format: string | undefined) => Promise<ImageSource>): Promise<VhdSource> {
    const device = { device: file.name };
    let raw = await file.read(file.size - 512, 512);
    // A dynamic disk keeps a copy of its footer at the start: used when the one at the end is gone.
    if (!raw.subarray(0, 8).equals(VHD_COOKIE)) raw = await file.read(0, 512);
    const f = footer.decode(raw);
    const sum = vhdChecksum(raw.subarray(0, 512), footer.offsetOf('checksum'));
    if (sum !== f.checksum) throw new CorruptError(`VHD footer checksum mismatch, have ${sum.toString(16)} expect ${f.checksum.toString(16)}`, device);
    const kind = DISK_TYPES[f.disk_type];
    if (!kind) throw new UnsupportedError(`VHD disk type ${f.disk_type} (2 fixed, 3 dynamic, 4 differencing are read)`, device);
    const size = safeNumber(f.current_size);
    if (size === undefined) throw new CorruptError(`VHD footer: disk size ${f.current_size} past 2^53`, device);
    const info: ContainerInfo = { format: `VHD ${kind}`, files: [file.name], details: [['disk size', `${size}`], ['creator', f.creator_app.toString('latin1').trim()]] };
    if (kind === 'fixed') {
      if (size > file.size - 512) throw new CorruptError(`VHD fixed disk of ${size} bytes in a file of ${file.size}`, device);
      return new VhdSource(file.name, file, info, f.unique_id, size, false);
    }
    const at = safeNumber(f.data_offset);
    if (at === undefined || at + 1024 > file.size) throw new CorruptError(`VHD dynamic header at ${f.data_offset} is past the end of the file`, device);
    const hraw = await file.read(at, 1024);
    const h = dynamicHeader.decode(hraw);
    const where = { device: file.name, physical: BigInt(at) };
    if (!h.cookie.equals(SPARSE_COOKIE)) throw new CorruptError('VHD dynamic header: bad cookie', where);
    const hsum = vhdChecksum(hraw, dynamicHeader.offsetOf('checksum'));
    if (hsum !== h.checksum) throw new CorruptError(`VHD dynamic header checksum mismatch, have ${hsum.toString(16)} expect ${h.checksum.toString(16)}`, where);
    const block = h.block_size;
    if (block < 512 || block > MAX_BLOCK || (block & (block - 1)) !== 0) throw new CorruptError(`VHD block size ${block} is not a power of two in [512, ${MAX_BLOCK}]`, where);
    const needed = Math.ceil(size / block);
    const batAt = safeNumber(h.table_offset);
    if (h.max_table_entries < needed) throw new CorruptError(`VHD BAT has ${h.max_table_entries} entries, the ${size}-byte disk needs ${needed}`, where);
    if (batAt === undefined || batAt + needed * 4 > file.size) throw new CorruptError(`VHD BAT at ${h.table_offset} (${needed} entries) runs past the end of the file`, where);
    const bat = await file.read(batAt, needed * 4);
    info.details.push(['block size', `${block}`]);
    let parent: ImageSource | undefined;
    if (kind === 'differencing') {
      const names: string[] = [];
      for (let i = 0; i < 8; i++) {
        const e = hraw.subarray(LOCATORS_AT + i * 24, LOCATORS_AT + (i + 1) * 24);
        const code = e.toString('latin1', 0, 4);
        const length = e.readUInt32BE(8);
        const offset = safeNumber(e.readBigUInt64BE(16));
        if (!['W2ru', 'W2ku', 'MacX'].includes(code) || offset === undefined || length === 0 || length > 4096 || offset + length > file.size) continue;
        const data = await file.read(offset, length);
        const text = code === 'MacX' ? decodeURIComponent(data.toString('utf8').replace(/^file:\/\/(localhost)?/, '')) : data.toString('utf16le');
        // Relative locators first: they survive the pair being moved together.
        if (code === 'W2ru') names.unshift(text.replace(/\0+$/, ''));
        else names.push(text.replace(/\0+$/, ''));
      }
      names.push(Buffer.from(hraw.subarray(PARENT_NAME_AT, PARENT_NAME_AT + 512)).swap16().toString('utf16le').replace(/\0.*$/s, ''));
      const name = await pickParent(file.name, names);
      if (name === undefined) throw new CorruptError('VHD differencing disk names no parent', where);
      info.details.push(['parent', name]);
      parent = await openParent(name, undefined);
      if (parent instanceof VhdSource && !parent.uniqueId.equals(h.parent_unique_id)) {
        await parent.close();
        throw new CorruptError(`VHD parent ${name} has unique id ${parent.uniqueId.toString('hex')}, the differencing disk expects ${h.parent_unique_id.toString('hex')}`, where);
      }
      if (parent.container) info.parent = parent.container;
    }
    return new VhdSource(file.name, file, info, f.unique_id, size, kind === 'differencing', bat, block, parent);
  }

  protected async locate(position: number, max: number): Promise<Run> {
    if (!this.bat) return { kind: 'file', source: this.file, offset: position, length: max };
    const b = Math.floor(position / this.blockSize);
    const inBlock = position - b * this.blockSize;
    const rest = Math.min(max, this.blockSize - inBlock);
    const entry = this.bat.readUInt32BE(b * 4);
    const absent = this.differencing ? 'parent' : 'zero';
    if (entry === UNALLOCATED) return { kind: absent, length: rest };
    const at = entry * 512;
    if (at + this.bitmapSize + this.blockSize > this.file.size) {
      throw new CorruptError(`VHD BAT entry ${b} points at sector ${entry}, past the end of the file (${this.file.size} bytes)`, { device: this.file.name });
    }
    const bitmap = await this.bitmaps.through(at, () => this.file.read(at, this.bitmapSize));
    const present = (s: number) => (bitmap[s >> 3]! >> (7 - (s & 7))) & 1;
    const first = Math.floor(inBlock / 512);
    const state = present(first);
    let end = (first + 1) * 512;
    while (end < inBlock + rest && present(end / 512) === state) end += 512;
    const length = Math.min(rest, end - inBlock);
    return state ? { kind: 'file', source: this.file, offset: at + this.bitmapSize + inBlock, length } : { kind: absent, length };
  }
}
