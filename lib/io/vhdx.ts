// VHDX (Hyper-V) images as a byte source: the current of the two headers, the region table (BAT and
// metadata regions), the metadata items (block size, disk size, logical sector size, parent locator),
// payload blocks through the BAT, sector bitmaps of differencing disks, and a dirty log replayed in
// memory first (vhdx-log.ts). Numbers are little-endian; structures are checked by CRC-32C.

import { crc32cOf } from '../checksum/crc32c.js';
import { CorruptError, UnsupportedError } from '../errors.js';
import { bytes, le16, le32, le64, struct } from '../ondisk/struct.js';
import { ByteCache } from './byte-cache.js';
import { safeNumber } from './fields.js';
import { guidBytes, guidText } from './guid.js';
import { MappedSource, type Run } from './mapped-source.js';
import { pickParent } from './parent-locator.js';
import type { ContainerInfo, ImageSource } from './source.js';
import { readLog, ReplayedSource, replayLog } from './vhdx-log.js';

export const VHDX_SIGNATURE = Buffer.from('vhdxfile', 'latin1');
const KiB = 1024;
const MiB = 1024 * KiB;
const header = struct('vhdx_header', {
  signature: bytes(4), checksum: le32, sequence_number: le64, file_write_guid: bytes(16), data_write_guid: bytes(16), log_guid: bytes(16),
  log_version: le16, version: le16, log_length: le32, log_offset: le64,
});
const regionEntry = struct('vhdx_region_entry', { guid: bytes(16), file_offset: le64, length: le32, required: le32 });
const metadataEntry = struct('vhdx_metadata_entry', { item: bytes(16), offset: le32, length: le32, flags: le32, reserved: le32 });

const BAT_REGION = guidBytes('2DC27766-F623-4200-9D64-115E9BFD4A08');
const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const FILE_PARAMETERS = guidBytes('CAA16737-FA36-4D43-B3B6-33F0AA44E76B');
const VIRTUAL_DISK_SIZE = guidBytes('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const LOGICAL_SECTOR_SIZE = guidBytes('8141BF1D-A96F-4709-BA47-F233A8FAAB5F');
const PHYSICAL_SECTOR_SIZE = guidBytes('CDA348C7-445D-4471-9CC9-E9885251C556');
const PAGE_83 = guidBytes('BECA12AB-B2E6-4523-93EF-C309E000C746');
const PARENT_LOCATOR = guidBytes('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');
const KNOWN_ITEMS = [FILE_PARAMETERS, VIRTUAL_DISK_SIZE, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PAGE_83, PARENT_LOCATOR];
const ZERO_GUID = Buffer.alloc(16);

const PAYLOAD = { NOT_PRESENT: 0, UNDEFINED: 1, ZERO: 2, UNMAPPED: 3, FULLY_PRESENT: 6, PARTIALLY_PRESENT: 7 } as const;
const BITMAP_PRESENT = 6;
const CACHE_BYTES = 4 * MiB;

function crcOk(buf: Buffer, checksumAt: number): boolean {
  const copy = Buffer.from(buf);
  copy.writeUInt32LE(0, checksumAt);
  return (crc32cOf(copy) >>> 0) === buf.readUInt32LE(checksumAt);
}

interface Metadata {
  blockSize: number;
  size: number;
  logicalSector: number;
  hasParent: boolean;
  parentLocator?: Map<string, string>;
}

export class VhdxSource extends MappedSource {
  readonly size: number;
  private readonly chunkRatio: number;
  private readonly bitmaps = new ByteCache<Buffer>(CACHE_BYTES);

  private constructor(
    readonly name: string,
    private readonly file: ImageSource,
    readonly container: ContainerInfo,
    private readonly meta: Metadata,
    private readonly bat: Buffer,
    readonly dataWriteGuid: Buffer,
    parent?: ImageSource,
  ) {
    super([file], parent);
    this.size = meta.size;
    this.chunkRatio = (2 ** 23 * meta.logicalSector) / meta.blockSize;
  }

  static async open(raw: ImageSource, openParent: (name: string, format: string | undefined) => Promise<ImageSource>): Promise<VhdxSource> {
    const device = { device: raw.name };
    if (raw.size < 1 * MiB) throw new CorruptError(`VHDX file of ${raw.size} bytes is shorter than its 1 MiB header area`, device);
    const headers = [];
    for (const at of [64 * KiB, 128 * KiB]) {
      const b = await raw.read(at, 4 * KiB);
      if (b.toString('latin1', 0, 4) === 'head' && crcOk(b, 4)) headers.push(header.decode(b));
    }
    if (!headers.length) throw new CorruptError('VHDX: neither header (at 64 KiB and 128 KiB) is valid', device);
    const h = headers.reduce((a, b) => (b.sequence_number > a.sequence_number ? b : a));
    if (h.version !== 1) throw new UnsupportedError(`VHDX version ${h.version}`, device);
    let file: ImageSource = raw;
    const details: Array<[string, string]> = [];
    if (!h.log_guid.equals(ZERO_GUID)) {
      if (h.log_version !== 0) throw new UnsupportedError(`VHDX log version ${h.log_version}`, device);
      const replay = replayLog(await readLog(raw, h.log_offset, h.log_length), h.log_guid, raw.size, raw.name);
      file = new ReplayedSource(raw, replay);
      details.push(['log', `dirty: ${replay.pages.size} sector(s) replayed in memory (the file is not written)`]);
    }
    try {
      const regions = await readRegions(file);
      const bat = regions.get(BAT_REGION.toString('hex'));
      const metaRegion = regions.get(METADATA_REGION.toString('hex'));
      if (!bat || !metaRegion) throw new CorruptError('VHDX region table lacks the BAT or the metadata region', device);
      const meta = await readMetadata(file, metaRegion.offset, metaRegion.length);
      const chunkRatio = (2 ** 23 * meta.logicalSector) / meta.blockSize;
      const blocks = Math.ceil(meta.size / meta.blockSize);
      const entries = meta.hasParent ? Math.ceil(blocks / chunkRatio) * (chunkRatio + 1) : blocks + Math.floor((blocks - 1) / chunkRatio);
      if (entries * 8 > bat.length) throw new CorruptError(`VHDX BAT region of ${bat.length} bytes cannot hold ${entries} entries`, device);
      const table = await file.read(bat.offset, entries * 8);
      details.unshift(['block size', `${meta.blockSize}`], ['logical sector size', `${meta.logicalSector}`]);
      const info: ContainerInfo = { format: `VHDX ${meta.hasParent ? 'differencing' : 'dynamic or fixed'}`, files: [raw.name], details };
      let parent: ImageSource | undefined;
      if (meta.hasParent) {
        const loc = meta.parentLocator ?? new Map<string, string>();
        const name = await pickParent(raw.name, [loc.get('relative_path') ?? '', loc.get('absolute_win32_path') ?? '', loc.get('volume_path') ?? '']);
        if (name === undefined) throw new CorruptError('VHDX differencing disk has no usable parent locator', device);
        info.details.push(['parent', name]);
        parent = await openParent(name, undefined);
        const linkage = loc.get('parent_linkage');
        if (parent instanceof VhdxSource && linkage && guidText(parent.dataWriteGuid) !== linkage.replace(/[{}]/g, '').toLowerCase()) {
          await parent.close();
          throw new CorruptError(`VHDX parent ${name} has data write GUID ${guidText(parent.dataWriteGuid)}, the differencing disk expects ${linkage}`, device);
        }
        if (parent.container) info.parent = parent.container;
      }
      return new VhdxSource(raw.name, file, info, meta, table, h.data_write_guid, parent);
    } catch (e) {
      if (file !== raw) await file.close();
      throw e;
    }
  }

  protected async locate(position: number, max: number): Promise<Run> {
    const bs = this.meta.blockSize;
    const b = Math.floor(position / bs);
    const inBlock = position - b * bs;
    const rest = Math.min(max, bs - inBlock);
    const entry = this.bat.readBigUInt64LE((b + Math.floor(b / this.chunkRatio)) * 8);
    const state = Number(entry & 7n);
    const offset = Number(entry >> 20n) * MiB;
    const absent = this.meta.hasParent ? 'parent' : 'zero';
    const where = () => `VHDX BAT entry for block ${b}`;
    switch (state) {
      case PAYLOAD.NOT_PRESENT:
      case PAYLOAD.UNDEFINED:
        return { kind: absent, length: rest };
      case PAYLOAD.ZERO:
      case PAYLOAD.UNMAPPED:
        return { kind: 'zero', length: rest };
      case PAYLOAD.FULLY_PRESENT:
        return this.fileRun(offset, inBlock, rest, where);
      case PAYLOAD.PARTIALLY_PRESENT: {
        if (!this.meta.hasParent) throw new CorruptError(`${where()}: partially present in a disk without a parent`, { device: this.name });
        const bitmap = await this.sectorBitmap(b);
        const ls = this.meta.logicalSector;
        const base = (b % this.chunkRatio) * (bs / ls);
        const bit = (s: number) => (bitmap[(base + s) >> 3]! >> ((base + s) & 7)) & 1;
        const first = Math.floor(inBlock / ls);
        const present = bit(first);
        let end = (first + 1) * ls;
        while (end < inBlock + rest && bit(end / ls) === present) end += ls;
        const length = Math.min(rest, end - inBlock);
        return present ? this.fileRun(offset, inBlock, length, where) : { kind: 'parent', length };
      }
      default:
        throw new CorruptError(`${where()}: state ${state} is not a payload block state`, { device: this.name });
    }
  }

  private fileRun(offset: number, inBlock: number, length: number, where: () => string): Run {
    if (offset < 1 * MiB || offset + inBlock + length > this.file.size) {
      throw new CorruptError(`${where()} points at ${offset}, outside the file (${this.file.size} bytes)`, { device: this.name });
    }
    return { kind: 'file', source: this.file, offset: offset + inBlock, length };
  }

  private sectorBitmap(block: number): Promise<Buffer> {
    const chunk = Math.floor(block / this.chunkRatio);
    return this.bitmaps.through(chunk, async () => {
      const entry = this.bat.readBigUInt64LE(((chunk + 1) * (this.chunkRatio + 1) - 1) * 8);
      const offset = Number(entry >> 20n) * MiB;
      if (Number(entry & 7n) !== BITMAP_PRESENT || offset < MiB || offset + MiB > this.file.size) {
        throw new CorruptError(`VHDX sector bitmap of chunk ${chunk} is not present or lies outside the file`, { device: this.name });
      }
      return this.file.read(offset, MiB);
    });
  }
}

async function readRegions(file: ImageSource): Promise<Map<string, { offset: number; length: number }>> {
  for (const at of [192 * KiB, 256 * KiB]) {
    const b = await file.read(at, 64 * KiB);
    if (b.toString('latin1', 0, 4) !== 'regi' || !crcOk(b, 4)) continue;
    const count = b.readUInt32LE(8);
    if (count > 2047) continue;
    const out = new Map<string, { offset: number; length: number }>();
    for (let i = 0; i < count; i++) {
      const e = regionEntry.decode(b, 16 + i * regionEntry.size);
      const offset = safeNumber(e.file_offset);
      const known = e.guid.equals(BAT_REGION) || e.guid.equals(METADATA_REGION);
      if (!known && e.required & 1) throw new UnsupportedError(`VHDX required region ${guidText(e.guid)}`, { device: file.name });
      if (offset === undefined || offset < MiB || offset + e.length > file.size) throw new CorruptError(`VHDX region ${guidText(e.guid)} at ${e.file_offset} (${e.length} bytes) lies outside the file`, { device: file.name });
      out.set(e.guid.toString('hex'), { offset, length: e.length });
    }
    return out;
  }
  throw new CorruptError('VHDX: neither region table (at 192 KiB and 256 KiB) is valid', { device: file.name });
}

async function readMetadata(file: ImageSource, offset: number, length: number): Promise<Metadata> {
  const device = { device: file.name, physical: BigInt(offset) };
  const table = await file.read(offset, Math.min(length, 64 * KiB));
  if (table.toString('latin1', 0, 8) !== 'metadata') throw new CorruptError('VHDX metadata table: bad signature', device);
  const count = table.readUInt16LE(10);
  if (32 + count * 32 > table.length) throw new CorruptError(`VHDX metadata table of ${count} entries`, device);
  const items = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const e = metadataEntry.decode(table, 32 + i * 32);
    if (!KNOWN_ITEMS.some((k) => k.equals(e.item))) {
      if (e.flags & 4) throw new UnsupportedError(`VHDX required metadata item ${guidText(e.item)}`, device);
      continue;
    }
    if (e.offset < 64 * KiB || e.offset + e.length > length || e.length > MiB) throw new CorruptError(`VHDX metadata item ${guidText(e.item)} at ${e.offset} (${e.length} bytes) lies outside its region`, device);
    items.set(e.item.toString('hex'), await file.read(offset + e.offset, e.length));
  }
  const item = (g: Buffer, min: number) => {
    const v = items.get(g.toString('hex'));
    if (!v || v.length < min) throw new CorruptError(`VHDX metadata item ${guidText(g)} is missing or short`, device);
    return v;
  };
  const params = item(FILE_PARAMETERS, 8);
  const blockSize = params.readUInt32LE(0);
  const hasParent = (params.readUInt32LE(4) & 2) !== 0;
  const size = safeNumber(item(VIRTUAL_DISK_SIZE, 8).readBigUInt64LE(0));
  const logicalSector = item(LOGICAL_SECTOR_SIZE, 4).readUInt32LE(0);
  if (blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) throw new CorruptError(`VHDX block size ${blockSize} is not a power of two in [1 MiB, 256 MiB]`, device);
  if (logicalSector !== 512 && logicalSector !== 4096) throw new CorruptError(`VHDX logical sector size ${logicalSector}`, device);
  if (size === undefined || size === 0) throw new CorruptError('VHDX virtual disk size is 0 or past 2^53', device);
  const meta: Metadata = { blockSize, size, logicalSector, hasParent };
  const loc = items.get(PARENT_LOCATOR.toString('hex'));
  if (hasParent && loc && loc.length >= 20) {
    const pairs = new Map<string, string>();
    const n = loc.readUInt16LE(18);
    for (let i = 0; i < n && 20 + (i + 1) * 12 <= loc.length; i++) {
      const at = 20 + i * 12;
      const [ko, vo, kl, vl] = [loc.readUInt32LE(at), loc.readUInt32LE(at + 4), loc.readUInt16LE(at + 8), loc.readUInt16LE(at + 10)];
      if (ko + kl > loc.length || vo + vl > loc.length) throw new CorruptError(`VHDX parent locator entry ${i} lies outside the item`, device);
      pairs.set(loc.toString('utf16le', ko, ko + kl), loc.toString('utf16le', vo, vo + vl));
    }
    meta.parentLocator = pairs;
  }
  return meta;
}
