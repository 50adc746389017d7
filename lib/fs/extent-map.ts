// `map`: where each file extent of a file lives — logical address, every physical copy on every
// device, the extent's reference count, and whether it is shared as FIEMAP says (another inode, another
// subvolume or a snapshot-shared leaf references it; several ranges of one file into one extent do not
// make it shared).

import { COMPRESSION_NAMES } from '../ondisk/constants.js';
import { mapOffset } from '../volume/raid.js';
import type { Btrfs } from './btrfs.js';
import type { Filesystem } from './filesystem.js';
import { itemMappings } from './file-extents.js';
import { BackrefContext } from '../backref/context.js';
import { isDataExtentShared } from '../backref/shared.js';

export interface PhysicalRun {
  devid: bigint;
  device: string | null;
  physical: bigint;
  length: bigint;
}

export interface ExtentMapEntry {
  fileOffset: bigint;
  length: bigint;
  kind: 'inline' | 'regular' | 'prealloc' | 'hole';
  compression: string;
  /** Logical start of the whole on-disk extent (null for inline extents and holes). */
  logical: bigint | null;
  /** On-disk bytes of the whole extent (inline: bytes in the item). */
  diskLength: bigint;
  /** Where this file range starts inside the (decompressed) extent. */
  extentOffset: bigint;
  /** Uncompressed size of the whole extent. */
  ramBytes: bigint;
  /** Per mirror, the physical runs holding the extent's on-disk bytes. */
  copies: PhysicalRun[][];
  /** Reference count from the extent tree (null when there is no extent item). */
  refs: bigint | null;
  /** FIEMAP_EXTENT_SHARED: the kernel's back reference walk finds another user of the extent. */
  shared: boolean;
  /** Past the end of the file (fallocate --keep-size). */
  beyondEof: boolean;
}

/** Physical runs of [logical, logical + length), per mirror; contiguous pieces on one device merged. */
export function physicalRuns(fs: Filesystem, logical: bigint, length: bigint): PhysicalRun[][] {
  const chunk = fs.volume.chunkAt(logical);
  const perMirror: PhysicalRun[][] = [];
  let at = logical;
  const end = logical + length;
  const maxUnits = 1_000_000;
  for (let units = 0; at < end && units < maxUnits; units++) {
    const c = at >= chunk.logical + chunk.length ? fs.volume.chunkAt(at) : chunk;
    const unit = mapOffset(c, c.profile, at - c.logical);
    const n = end - at < unit.unitRemaining ? end - at : unit.unitRemaining;
    unit.copies.forEach((copy, mirror) => {
      const runs = (perMirror[mirror] ??= []);
      const devid = c.stripes[copy.stripe]!.devid;
      const last = runs[runs.length - 1];
      if (last && last.devid === devid && last.physical + last.length === copy.physical) last.length += n;
      else runs.push({ devid, device: fs.devices.devices.get(devid)?.source.name ?? null, physical: copy.physical, length: n });
    });
    at += n;
  }
  return perMirror;
}

export async function extentMap(btrfs: Btrfs, path: string): Promise<{ size: bigint; extents: ExtentMapEntry[] }> {
  const fs = btrfs.filesystem;
  const file = await btrfs.fileAt(path);
  const node = { subvol: file.subvol, ino: file.ino };
  const size = file.size;
  let ctx: BackrefContext | undefined;
  const out: ExtentMapEntry[] = [];
  const hole = (from: bigint, to: bigint, beyondEof: boolean): ExtentMapEntry => ({
    fileOffset: from, length: to - from, kind: 'hole', compression: 'none', logical: null, diskLength: 0n,
    extentOffset: 0n, ramBytes: 0n, copies: [], refs: null, shared: false, beyondEof,
  });
  let cursor = 0n;
  for await (const m of itemMappings(file.tree, file.ino, fs.sectorsize)) {
    cursor = m.fileOffset + m.length;
    if (m.kind === 'hole') {
      // A gap between items shows up to the end of the file; an explicit hole item shows as it is.
      if (m.explicit) out.push(hole(m.fileOffset, cursor, m.fileOffset >= size));
      else if (m.fileOffset < size) out.push(hole(m.fileOffset, cursor < size ? cursor : size, false));
      continue;
    }
    const e = m.extent;
    const compression = COMPRESSION_NAMES[e.compression] ?? `unknown(${e.compression})`;
    const beyondEof = m.fileOffset >= size;
    if (e.kind === 'inline') {
      out.push({
        fileOffset: m.fileOffset, length: m.length, kind: 'inline', compression, logical: null, diskLength: BigInt(e.data.length),
        extentOffset: 0n, ramBytes: e.ramBytes, copies: [], refs: null, shared: false, beyondEof,
      });
      continue;
    }
    const refs = await btrfs.shareability.refs(e.diskBytenr, e.diskNumBytes);
    ctx ??= await BackrefContext.create(fs);
    const shared = refs !== null && (await isDataExtentShared(ctx, node.subvol, node.ino, e.diskBytenr, e.generation));
    out.push({
      fileOffset: m.fileOffset, length: m.length, kind: e.kind, compression, logical: e.diskBytenr, diskLength: e.diskNumBytes,
      extentOffset: e.offset, ramBytes: e.ramBytes, copies: physicalRuns(fs, e.diskBytenr, e.diskNumBytes), refs, shared, beyondEof,
    });
  }
  if (cursor < size) out.push(hole(cursor, size, false));
  return { size, extents: out };
}
