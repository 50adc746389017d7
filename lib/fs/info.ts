// A summary of the filesystem, as `btrfs-lens info` prints it: identity, sizes, features, devices,
// and space by block group type and profile.

import { COMPAT_RO_NAMES, INCOMPAT_NAMES } from '../ondisk/features.js';
import { BlockGroupFlag, CompatRoFeature, KeyType, ObjectId } from '../ondisk/constants.js';
import { decodeBlockGroupItem } from '../ondisk/items/block-group.js';
import { key } from '../ondisk/key.js';
import { labelOf } from '../ondisk/superblock.js';
import { formatUuid } from '../ondisk/uuid.js';
import { wrapItem, type Filesystem } from './filesystem.js';

export interface FsInfo {
  label: string;
  fsid: string;
  metadataUuid: string;
  generation: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  numDevices: bigint;
  sectorsize: number;
  nodesize: number;
  stripesize: number;
  csumType: string;
  features: { incompat: string[]; compatRo: string[]; compat: string[] };
  logRoot: bigint;
  devices: Array<{ devid: bigint; uuid: string; path: string | null; totalBytes: bigint; bytesUsed: bigint }>;
  space: Array<{ type: string; profile: string; chunks: number; size: bigint; used: bigint }>;
}

function bgType(flags: bigint): string {
  const parts: string[] = [];
  if (flags & BlockGroupFlag.DATA) parts.push('data');
  if (flags & BlockGroupFlag.METADATA) parts.push('metadata');
  if (flags & BlockGroupFlag.SYSTEM) parts.push('system');
  return parts.join('+') || 'unknown';
}

export async function fsInfo(fs: Filesystem): Promise<FsInfo> {
  const sb = fs.superblock;
  const bgTreeId = sb.compat_ro_flags & CompatRoFeature.BLOCK_GROUP_TREE ? ObjectId.BLOCK_GROUP_TREE : ObjectId.EXTENT_TREE;
  const bgTree = (await fs.rootItem(bgTreeId)) ? await fs.tree(bgTreeId) : undefined;
  const space = new Map<string, { type: string; profile: string; chunks: number; size: bigint; used: bigint }>();
  for (const chunk of fs.volume.chunks.all()) {
    const type = bgType(chunk.type);
    const id = `${type}/${chunk.profile}`;
    const s = space.get(id) ?? { type, profile: chunk.profile, chunks: 0, size: 0n, used: 0n };
    s.chunks++;
    s.size += chunk.length;
    const hit = bgTree && (await bgTree.get(key(chunk.logical, KeyType.BLOCK_GROUP_ITEM, chunk.length)));
    if (hit) s.used += wrapItem(() => decodeBlockGroupItem(hit.data), bgTreeId, hit).used;
    space.set(id, s);
  }
  const names = (value: bigint, table: ReadonlyArray<[bigint, string]>) => {
    const out = table.filter(([bit]) => value & bit).map(([, n]) => n);
    const known = table.reduce((a, [bit]) => a | bit, 0n);
    if (value & ~known) out.push(`0x${(value & ~known).toString(16)}`);
    return out;
  };
  return {
    label: labelOf(sb),
    fsid: formatUuid(sb.fsid),
    metadataUuid: formatUuid(sb.metadata_uuid),
    generation: sb.generation,
    totalBytes: sb.total_bytes,
    bytesUsed: sb.bytes_used,
    numDevices: sb.num_devices,
    sectorsize: sb.sectorsize,
    nodesize: sb.nodesize,
    stripesize: sb.stripesize,
    csumType: fs.checksummer.name,
    features: { incompat: names(sb.incompat_flags, INCOMPAT_NAMES), compatRo: names(sb.compat_ro_flags, COMPAT_RO_NAMES), compat: names(sb.compat_flags, []) },
    logRoot: sb.log_root,
    devices: [...fs.devItems.values()].sort((a, b) => (a.devid < b.devid ? -1 : 1)).map((d) => ({
      devid: d.devid, uuid: formatUuid(d.uuid), path: fs.devices.devices.get(d.devid)?.source.name ?? null,
      totalBytes: d.total_bytes, bytesUsed: d.bytes_used,
    })),
    space: [...space.values()],
  };
}
