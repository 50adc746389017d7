// qcow2 (QEMU) images as a byte source: guest offsets through the L1 and L2 tables to host clusters,
// with zero clusters, compressed clusters (deflate or zstd), extended L2 entries (32 subclusters per
// cluster), a backing file for what is unallocated, and internal snapshots (another L1 table).

import { COMPRESSION, loadDecompressor, MAX_UNCOMPRESSED, type Decompressor } from '../compression/index.js';
import { CorruptError, UnsupportedError, UsageError } from '../errors.js';
import { ByteCache } from './byte-cache.js';
import { inflateInto } from './inflate.js';
import { MappedSource, type Run } from './mapped-source.js';
import {
  decodeQcow2Header, decodeSnapshotEntry, SNAPSHOT_HEAD, snapshotTailLength, type Qcow2Header, type Qcow2Snapshot,
} from './qcow2-header.js';
import type { ContainerInfo, ImageSource } from './source.js';

const L1_OFFSET_MASK = 0x00fffffffffffe00n;
const L2_OFFSET_MASK = 0x00fffffffffffe00n;
const COMPRESSED = 1n << 62n;
const ZERO_FLAG = 1n;
const SUBCLUSTERS = 32;
/** L2 tables and inflated clusters kept, each. */
const CACHE_BYTES = 8 * 1024 * 1024;

export interface Qcow2Options {
  /** Read this internal snapshot (id or name) instead of the active image. */
  snapshot?: string;
}

export class Qcow2Source extends MappedSource {
  readonly size: number;
  readonly container: ContainerInfo;
  private readonly l2Entries: number;
  private readonly l2Cache = new ByteCache<Buffer>(CACHE_BYTES);
  private readonly clusterCache = new ByteCache<Uint8Array>(CACHE_BYTES);
  private zstd: Promise<Decompressor> | undefined;

  private constructor(
    readonly name: string,
    private readonly file: ImageSource,
    private readonly header: Qcow2Header,
    private readonly l1: Buffer,
    size: number,
    info: ContainerInfo,
    parent?: ImageSource,
  ) {
    super([file], parent);
    this.size = size;
    this.container = info;
    this.l2Entries = header.clusterSize / (header.extendedL2 ? 16 : 8);
  }

  /**
   * @param openBacking opens the backing file (by path, with the format the header names, if any);
   *   `backingPath` overrides where it is looked for.
   */
  static async open(
    file: ImageSource, options: Qcow2Options,
    openBacking: (name: string, format: string | undefined) => Promise<ImageSource>,
  ): Promise<Qcow2Source> {
    const head = await file.read(0, Math.min(file.size, 64 * 1024));
    const header = decodeQcow2Header(head);
    const where = { device: file.name };
    const snapshots = await readSnapshots(file, header);
    let l1Offset = header.l1TableOffset;
    let l1Size = header.l1Size;
    let size = header.size;
    let chosen: Qcow2Snapshot | undefined;
    if (options.snapshot !== undefined) {
      chosen = snapshots.find((s) => s.id === options.snapshot) ?? snapshots.find((s) => s.name === options.snapshot);
      if (!chosen) {
        const have = snapshots.map((s) => `${s.id} (${s.name})`).join(', ') || 'none';
        throw new UsageError(`${file.name}: no internal snapshot ${options.snapshot}; snapshots: ${have}`);
      }
      ({ l1TableOffset: l1Offset, l1Size, size } = chosen);
    }
    const entries = header.clusterSize / (header.extendedL2 ? 16 : 8);
    const needed = Math.ceil(size / header.clusterSize / entries);
    if (l1Size < needed) throw new CorruptError(`qcow2 L1 table has ${l1Size} entries, the ${size}-byte disk needs ${needed}`, where);
    if (l1Offset % header.clusterSize !== 0 || l1Offset + l1Size * 8 > file.size) {
      throw new CorruptError(`qcow2 L1 table at ${l1Offset} (${l1Size} entries) is unaligned or past the end of the file (${file.size} bytes)`, where);
    }
    const l1 = await file.read(l1Offset, l1Size * 8);
    let backingName: string | undefined;
    if (header.backing) {
      const { offset, size: n } = header.backing;
      if (offset + n > file.size) throw new CorruptError(`qcow2 backing file name at ${offset} (${n} bytes) is past the end of the file`, where);
      backingName = (await file.read(offset, n)).toString('utf8');
    }
    const details: Array<[string, string]> = [
      ['cluster size', `${header.clusterSize}`],
      ['compression', header.compression],
      ['extended L2 entries', header.extendedL2 ? 'yes' : 'no'],
    ];
    if (header.incompatible & 1n) details.push(['dirty', 'yes (refcounts may be stale; mappings are read as they are)']);
    if (header.incompatible & 2n) details.push(['corrupt bit', 'set by qemu']);
    for (const s of snapshots) details.push([`snapshot ${s.id}`, `${s.name}, ${new Date(s.date * 1000).toISOString()}, ${s.size} bytes${s === chosen ? ' (selected)' : ''}`]);
    if (backingName !== undefined) details.push(['backing file', backingName]);
    const info: ContainerInfo = { format: `qcow2 v${header.version}`, files: [file.name], details };
    const parent = backingName !== undefined ? await openBacking(backingName, header.backingFormat) : undefined;
    if (parent?.container) info.parent = parent.container;
    else if (parent) info.parent = { format: 'raw', files: [parent.name], details: [] };
    return new Qcow2Source(file.name, file, header, l1, size, info, parent);
  }

  protected async locate(position: number, max: number): Promise<Run> {
    const cs = this.header.clusterSize;
    const guestCluster = Math.floor(position / cs);
    const inCluster = position - guestCluster * cs;
    const l1Index = Math.floor(guestCluster / this.l2Entries);
    const l2Index = guestCluster - l1Index * this.l2Entries;
    const l2Offset = this.l1.readBigUInt64BE(l1Index * 8) & L1_OFFSET_MASK;
    if (l2Offset === 0n) {
      // No L2 table: the whole range it would map is unallocated.
      const end = (l1Index + 1) * this.l2Entries * cs;
      return { kind: 'parent', length: Math.min(max, end - position) };
    }
    const l2 = await this.l2Table(l2Offset, l1Index);
    const entrySize = this.header.extendedL2 ? 16 : 8;
    const entry = l2.readBigUInt64BE(l2Index * entrySize);
    const rest = Math.min(max, cs - inCluster);
    const where = () => `qcow2 L2 table at ${l2Offset} entry ${l2Index} (guest offset ${guestCluster * cs})`;
    if (entry & COMPRESSED) {
      const data = await this.compressedCluster(entry, where);
      return { kind: 'bytes', data, offset: inCluster, length: rest };
    }
    const host = Number(entry & L2_OFFSET_MASK);
    if (this.header.extendedL2) {
      const bitmap = l2.readBigUInt64BE(l2Index * entrySize + 8);
      const sub = cs / SUBCLUSTERS;
      const first = Math.floor(inCluster / sub);
      const state = (i: number) => (bitmap >> BigInt(i)) & 1n ? 'file' : (bitmap >> BigInt(32 + i)) & 1n ? 'zero' : 'parent';
      const kind = state(first);
      let last = first;
      while (last + 1 < SUBCLUSTERS && (last + 1) * sub < inCluster + rest && state(last + 1) === kind) last++;
      const length = Math.min(rest, (last + 1) * sub - inCluster);
      if (kind === 'file') return this.hostRun(host, inCluster, length, where);
      return { kind, length };
    }
    if (this.header.version >= 3 && entry & ZERO_FLAG) return { kind: 'zero', length: rest };
    if (host === 0) return { kind: 'parent', length: rest };
    return this.hostRun(host, inCluster, rest, where);
  }

  private hostRun(host: number, inCluster: number, length: number, where: () => string): Run {
    if (host === 0 || host % this.header.clusterSize !== 0) {
      throw new CorruptError(`${where()} maps to host offset ${host}, not a cluster boundary`, { device: this.file.name });
    }
    if (host + inCluster + length > this.file.size) {
      throw new CorruptError(`${where()} points at host offset ${host}, past the end of the file (${this.file.size} bytes)`, { device: this.file.name });
    }
    return { kind: 'file', source: this.file, offset: host + inCluster, length };
  }

  private l2Table(offset: bigint, l1Index: number): Promise<Buffer> {
    const at = Number(offset);
    return this.l2Cache.through(at, async () => {
      const cs = this.header.clusterSize;
      if (at % cs !== 0 || at + cs > this.file.size) {
        throw new CorruptError(`qcow2 L1 entry ${l1Index} points at an L2 table at ${at}, unaligned or past the end of the file (${this.file.size} bytes)`, { device: this.file.name });
      }
      return this.file.read(at, cs);
    });
  }

  private compressedCluster(entry: bigint, where: () => string): Promise<Uint8Array> {
    const bits = this.header.clusterBits;
    const x = 62 - (bits - 8);
    const host = Number(entry & ((1n << BigInt(x)) - 1n));
    const sectors = Number((entry >> BigInt(x)) & ((1n << BigInt(bits - 8)) - 1n)) + 1;
    return this.clusterCache.through(host, async () => {
      const device = { device: this.file.name };
      if (host >= this.file.size) throw new CorruptError(`${where()}: compressed cluster at host offset ${host} is past the end of the file (${this.file.size} bytes)`, device);
      // The last sector may be cut by the end of the file: decompression stops at a full cluster.
      const length = Math.min(sectors * 512 - (host % 512), this.file.size - host);
      const input = await this.file.read(host, length);
      const out = new Uint8Array(this.header.clusterSize);
      if (this.header.compression === 'zstd') {
        if (out.length > MAX_UNCOMPRESSED) throw new UnsupportedError(`zstd-compressed qcow2 clusters of ${out.length} bytes (up to ${MAX_UNCOMPRESSED} are read)`, device);
        this.zstd ??= loadDecompressor(COMPRESSION.zstd, 4096);
        const zstd = await this.zstd;
        try {
          return zstd.decompress(input, out.length);
        } catch (e) {
          throw new CorruptError(`${where()}: compressed cluster at host offset ${host}: ${(e as Error).message}`, device);
        }
      }
      const r = inflateInto(input, out, 'raw');
      if (r.produced !== out.length) {
        throw new CorruptError(`${where()}: compressed cluster at host offset ${host} inflates to ${r.produced} of ${out.length} bytes${r.error ? ` (${r.error})` : ''}`, device);
      }
      return out;
    });
  }
}

async function readSnapshots(file: ImageSource, header: Qcow2Header): Promise<Qcow2Snapshot[]> {
  const out: Qcow2Snapshot[] = [];
  let at = header.snapshotsOffset;
  for (let i = 0; i < header.nbSnapshots; i++) {
    const where = `qcow2 snapshot table entry ${i} at ${at}`;
    if (at + SNAPSHOT_HEAD > file.size) throw new CorruptError(`${where} is past the end of the file`, { device: file.name });
    const head = await file.read(at, SNAPSHOT_HEAD);
    const tailLength = snapshotTailLength(head);
    if (at + SNAPSHOT_HEAD + tailLength > file.size) throw new CorruptError(`${where} (${SNAPSHOT_HEAD + tailLength} bytes) runs past the end of the file`, { device: file.name });
    const tail = await file.read(at + SNAPSHOT_HEAD, tailLength);
    out.push(decodeSnapshotEntry(head, tail, header.size, where));
    at = Math.ceil((at + SNAPSHOT_HEAD + tailLength) / 8) * 8;
  }
  return out;
}
