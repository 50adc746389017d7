// zlib, LZO and zstd behind one interface.
//
//   const d = await loadDecompressor(extent.compression, sb.sectorsize);   // async once (zstd: WASM)
//   const data = d.decompress(diskBytes, ramBytes);                         // sync afterwards
//   const tiny = d.decompressInline(inlineData, inlineRamBytes);
//
// Every Decompressor returns exactly outputLength bytes, allocates nothing proportional to what a
// stream claims, and turns any malformed stream into a CorruptError.

import { UnsupportedError, UsageError } from '../errors.js';
import { createLzo } from './lzo.js';
import { COMPRESSION, type Decompressor } from './types.js';
import { createZlib } from './zlib.js';
import { createZstd } from './zstd.js';

export { COMPRESSION, MAX_COMPRESSED, MAX_UNCOMPRESSED, type CompressionName, type Decompressor } from './types.js';
export { lzoLayout, type LzoLayout, type LzoSegment } from './lzo.js';
export { lzo1xDecompress, lzo1xWorstCompress } from './lzo1x.js';
export { parseZstdFrameHeader, type ZstdFrameHeader } from './zstd-frame.js';

const loaded = new Map<string, Promise<Decompressor>>();

/**
 * The decompressor for an on-disk compression type (btrfs_file_extent_item.compression) on a
 * filesystem with the given sectorsize (superblock sectorsize: LZO's framing depends on it).
 * Cached per (type, sectorSize).
 */
export function loadDecompressor(type: number, sectorSize: number): Promise<Decompressor> {
  if (!Number.isInteger(sectorSize) || sectorSize < 512 || sectorSize > 65536 || (sectorSize & (sectorSize - 1)) !== 0) {
    return Promise.reject(new UsageError(`sectorSize must be a power of two in [512, 65536], got ${sectorSize}`));
  }
  const key = `${type}/${sectorSize}`;
  let p = loaded.get(key);
  if (!p) {
    p = create(type, sectorSize);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

async function create(type: number, sectorSize: number): Promise<Decompressor> {
  switch (type) {
    case COMPRESSION.zlib:
      return createZlib(sectorSize);
    case COMPRESSION.lzo:
      return createLzo(sectorSize);
    case COMPRESSION.zstd:
      return createZstd(sectorSize);
    case COMPRESSION.none:
      throw new UsageError('compression type 0 (none) has no decompressor');
    default:
      throw new UnsupportedError(`compression type ${type} (known: 1 zlib, 2 lzo, 3 zstd)`);
  }
}
