// qcow2 on-disk structures (QEMU's docs/interop/qcow2.txt), decoded from bytes: the header with its
// v3 fields and extensions, and the internal snapshot table. All numbers are big-endian.

import { CorruptError, UnsupportedError } from '../errors.js';
import { struct } from '../ondisk/struct.js';
import { be32, be64, safeNumber } from './fields.js';

export const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

const headerV2 = struct('qcow2_header', {
  magic: be32, version: be32, backing_file_offset: be64, backing_file_size: be32, cluster_bits: be32, size: be64,
  crypt_method: be32, l1_size: be32, l1_table_offset: be64, refcount_table_offset: be64, refcount_table_clusters: be32,
  nb_snapshots: be32, snapshots_offset: be64,
});
const headerV3 = struct('qcow2_header_v3', {
  incompatible_features: be64, compatible_features: be64, autoclear_features: be64, refcount_order: be32, header_length: be32,
});

export const Incompat = { DIRTY: 1n, CORRUPT: 2n, DATA_FILE: 4n, COMPRESSION_TYPE: 8n, EXTENDED_L2: 16n } as const;
const KNOWN_INCOMPAT = Incompat.DIRTY | Incompat.CORRUPT | Incompat.DATA_FILE | Incompat.COMPRESSION_TYPE | Incompat.EXTENDED_L2;
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
/** qemu refuses larger clusters; the layout of compressed descriptors depends on it too. */
const MAX_CLUSTER_BITS = 21;
/** qemu's limits: L1 tables up to 32 MiB, 65536 snapshots, backing names of 1023 bytes. */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_SNAPSHOTS = 65536;
const MAX_BACKING_NAME = 1023;

export interface Qcow2Header {
  version: number;
  clusterBits: number;
  clusterSize: number;
  /** Virtual disk size in bytes. */
  size: number;
  l1Size: number;
  l1TableOffset: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: bigint;
  extendedL2: boolean;
  compression: 'deflate' | 'zstd';
  /** Where the backing file name lies in the file, if there is one. */
  backing?: { offset: number; size: number };
  /** The backing file's format from the header extension ("raw", "qcow2", ...). */
  backingFormat?: string;
}

function field(name: string, v: bigint): number {
  const n = safeNumber(v);
  if (n === undefined) throw new CorruptError(`qcow2 header: ${name} ${v} is past 2^53`, { physical: 0n });
  return n;
}

/** The header from the file's first cluster (or at least its first 4 KiB). */
export function decodeQcow2Header(buf: Buffer): Qcow2Header {
  const h = headerV2.decode(buf, 0);
  if (h.magic !== QCOW2_MAGIC.readUInt32BE(0)) throw new CorruptError('not a qcow2 image (bad magic)');
  if (h.version !== 2 && h.version !== 3) throw new UnsupportedError(`qcow2 version ${h.version} (2 and 3 are read)`);
  if (h.cluster_bits < 9 || h.cluster_bits > MAX_CLUSTER_BITS) throw new CorruptError(`qcow2 header: cluster_bits ${h.cluster_bits} outside [9, ${MAX_CLUSTER_BITS}]`);
  if (h.crypt_method !== 0) throw new UnsupportedError(`encrypted qcow2 (crypt_method ${h.crypt_method})`);
  let incompatible = 0n;
  let headerLength = headerV2.size;
  if (h.version === 3) {
    const v3 = headerV3.decode(buf, headerV2.size);
    incompatible = v3.incompatible_features;
    headerLength = v3.header_length;
    if (headerLength < headerV2.size + headerV3.size || headerLength % 8 !== 0 || headerLength > buf.length) {
      throw new CorruptError(`qcow2 header: header_length ${headerLength} is not a multiple of 8 in [104, ${buf.length}]`);
    }
    const unknown = incompatible & ~KNOWN_INCOMPAT;
    if (unknown) throw new UnsupportedError(`qcow2 incompatible feature bits 0x${unknown.toString(16)}`);
    if (incompatible & Incompat.DATA_FILE) throw new UnsupportedError('qcow2 with an external data file');
  }
  const extendedL2 = (incompatible & Incompat.EXTENDED_L2) !== 0n;
  if (extendedL2 && h.cluster_bits < 14) throw new CorruptError(`qcow2 header: extended L2 entries need clusters of 16 KiB or more, have ${1 << h.cluster_bits}`);
  let compression: Qcow2Header['compression'] = 'deflate';
  if (incompatible & Incompat.COMPRESSION_TYPE) {
    const type = headerLength > 104 ? buf[104]! : 0;
    if (type === 1) compression = 'zstd';
    else throw new UnsupportedError(`qcow2 compression type ${type} (0 deflate and 1 zstd are read)`);
  }
  const header: Qcow2Header = {
    version: h.version, clusterBits: h.cluster_bits, clusterSize: 1 << h.cluster_bits, size: field('size', h.size),
    l1Size: h.l1_size, l1TableOffset: field('l1_table_offset', h.l1_table_offset), nbSnapshots: h.nb_snapshots,
    snapshotsOffset: field('snapshots_offset', h.snapshots_offset), incompatible, extendedL2, compression,
  };
  if (h.backing_file_offset !== 0n) {
    if (h.backing_file_size === 0 || h.backing_file_size > MAX_BACKING_NAME) throw new CorruptError(`qcow2 header: backing file name of ${h.backing_file_size} bytes (1 to ${MAX_BACKING_NAME})`);
    header.backing = { offset: field('backing_file_offset', h.backing_file_offset), size: h.backing_file_size };
  }
  if (h.l1_size * 8 > MAX_L1_BYTES) throw new CorruptError(`qcow2 header: L1 table of ${h.l1_size} entries is larger than ${MAX_L1_BYTES} bytes`);
  if (h.nb_snapshots > MAX_SNAPSHOTS) throw new CorruptError(`qcow2 header: ${h.nb_snapshots} snapshots (at most ${MAX_SNAPSHOTS})`);
  // Header extensions: type, length, data padded to 8, up to the end marker, inside the first cluster.
  let at = headerLength;
  for (let n = 0; at + 8 <= buf.length && n < 1024; n++) {
    const type = buf.readUInt32BE(at);
    const len = buf.readUInt32BE(at + 4);
    if (type === EXT_END) break;
    if (at + 8 + len > buf.length) throw new CorruptError(`qcow2 header extension 0x${type.toString(16)} at ${at} (${len} bytes) runs past the header cluster`);
    if (type === EXT_BACKING_FORMAT) header.backingFormat = buf.toString('latin1', at + 8, at + 8 + len);
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return header;
}

export interface Qcow2Snapshot {
  /** The unique id string ("1", "2", ...). */
  id: string;
  name: string;
  l1TableOffset: number;
  l1Size: number;
  /** Disk size when the snapshot was taken (the header's size when the entry does not say). */
  size: number;
  /** Seconds since the epoch. */
  date: number;
  vmStateSize: bigint;
}

/** Bytes of a snapshot table entry before its variable part. */
export const SNAPSHOT_HEAD = 40;

/** How long the variable part (extra data, id, name) of the entry whose head is `head` is. */
export function snapshotTailLength(head: Buffer): number {
  return head.readUInt32BE(36) + head.readUInt16BE(12) + head.readUInt16BE(14);
}

/** One snapshot table entry from its head and its variable part; `diskSize` is the header's size. */
export function decodeSnapshotEntry(head: Buffer, tail: Buffer, diskSize: number, where: string): Qcow2Snapshot {
  const idLen = head.readUInt16BE(12);
  const nameLen = head.readUInt16BE(14);
  const extra = head.readUInt32BE(36);
  let vmStateSize = BigInt(head.readUInt32BE(32));
  let size = diskSize;
  if (extra >= 8) vmStateSize = tail.readBigUInt64BE(0);
  if (extra >= 16) {
    const s = safeNumber(tail.readBigUInt64BE(8));
    if (s === undefined) throw new CorruptError(`${where}: disk size past 2^53`);
    size = s;
  }
  const l1Offset = safeNumber(head.readBigUInt64BE(0));
  if (l1Offset === undefined) throw new CorruptError(`${where}: L1 table offset past 2^53`);
  const l1Size = head.readUInt32BE(8);
  if (l1Size * 8 > MAX_L1_BYTES) throw new CorruptError(`${where}: L1 table of ${l1Size} entries`);
  return {
    id: tail.toString('utf8', extra, extra + idLen), name: tail.toString('utf8', extra + idLen, extra + idLen + nameLen),
    l1TableOffset: l1Offset, l1Size, size, date: head.readUInt32BE(16), vmStateSize,
  };
}
