// The -t argument of dump-tree, read as progs 6.2 reads it: a number, or a tree name in any case with
// optional BTRFS_ prefix and _TREE / _OBJECTID suffixes ("fs", "FS_TREE", "btrfs_csum_tree_objectid").

import { UsageError } from '../errors.js';
import { ObjectId } from '../ondisk/constants.js';

/** Matched as prefixes, in this order (so DEVICE wins over DEV and TREE_LOG_FIXUP over TREE_LOG). */
const TREE_NAMES: Array<[string, bigint]> = [
  ['ROOT', ObjectId.ROOT_TREE],
  ['EXTENT', ObjectId.EXTENT_TREE],
  ['CHUNK', ObjectId.CHUNK_TREE],
  ['DEVICE', ObjectId.DEV_TREE],
  ['DEV', ObjectId.DEV_TREE],
  ['FS', ObjectId.FS_TREE],
  ['CSUM', ObjectId.CSUM_TREE],
  ['CHECKSUM', ObjectId.CSUM_TREE],
  ['QUOTA', ObjectId.QUOTA_TREE],
  ['UUID', ObjectId.UUID_TREE],
  ['FREE_SPACE', ObjectId.FREE_SPACE_TREE],
  ['TREE_LOG_FIXUP', ObjectId.TREE_LOG_FIXUP],
  ['TREE_LOG', ObjectId.TREE_LOG],
  ['TREE_RELOC', ObjectId.TREE_RELOC],
  ['DATA_RELOC', ObjectId.DATA_RELOC_TREE],
];

function stripPrefix(s: string, prefix: string): string | undefined {
  return s.slice(0, prefix.length).toUpperCase() === prefix ? s.slice(prefix.length) : undefined;
}

/** The tree id `arg` names; a UsageError worded as progs words it when it names none. */
export function parseTreeId(arg: string): bigint {
  if (/^[0-9]+$/.test(arg)) {
    const id = BigInt(arg);
    if (id >= 2n ** 64n) throw new UsageError(`${arg} is not a valid numeric value.`);
    if (id === 0n) throw new UsageError(`unrecognized tree id: ${arg}`);
    return id;
  }
  let rest = stripPrefix(arg, 'BTRFS_') ?? arg;
  const hit = TREE_NAMES.find(([name]) => stripPrefix(rest, name) !== undefined);
  if (!hit) throw new UsageError(`unrecognized tree id: ${arg}`);
  rest = stripPrefix(rest, hit[0])!;
  rest = stripPrefix(rest, '_TREE') ?? rest;
  rest = stripPrefix(rest, '_OBJECTID') ?? rest;
  if (rest) throw new UsageError(`unexpected tree id suffix of '${arg}': ${rest}`);
  return hit[1];
}
