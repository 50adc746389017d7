// The quota tree: one QGROUP_STATUS item, then per qgroup QGROUP_INFO (usage) and QGROUP_LIMIT items,
// and QGROUP_RELATION items (no body) linking qgroups both ways. Qgroup ids are level << 48 | subvolid.

import { CorruptError } from '../../errors.js';
import { le64, les64, struct } from '../struct.js';

const statusV1 = struct('btrfs_qgroup_status_item', { version: le64, generation: le64, flags: le64, rescan: le64 });
/** Simple quotas (kernel 6.7) appended the generation quotas were enabled in. */
const statusWithEnableGen = struct('btrfs_qgroup_status_item (enable_gen)', {
  version: le64, generation: le64, flags: le64, rescan: le64, enable_gen: le64,
});

export interface QgroupStatusItem {
  version: bigint;
  generation: bigint;
  flags: bigint;
  /** Progress of a rescan: the next logical address to account. */
  rescan: bigint;
  enableGen?: bigint;
}

export const qgroupInfo = struct('btrfs_qgroup_info_item', {
  generation: le64,
  rfer: le64,
  rfer_cmpr: le64,
  excl: le64,
  excl_cmpr: le64,
});
export type QgroupInfoItem = ReturnType<typeof qgroupInfo.decode>;

/** The limits are u64 on disk but tools print them signed (-1 style values show as such). */
export const qgroupLimit = struct('btrfs_qgroup_limit_item', {
  flags: le64,
  max_rfer: les64,
  max_excl: les64,
  rsv_rfer: les64,
  rsv_excl: les64,
});
export type QgroupLimitItem = ReturnType<typeof qgroupLimit.decode>;

export function decodeQgroupStatus(data: Buffer): QgroupStatusItem {
  if (data.length >= statusWithEnableGen.size) {
    const v = statusWithEnableGen.decode(data, 0);
    return { version: v.version, generation: v.generation, flags: v.flags, rescan: v.rescan, enableGen: v.enable_gen };
  }
  if (data.length < statusV1.size) throw new CorruptError(`qgroup status item is ${data.length} bytes, less than ${statusV1.size}`);
  return statusV1.decode(data, 0);
}

export function decodeQgroupInfo(data: Buffer): QgroupInfoItem {
  return qgroupInfo.decode(data, 0);
}

export function decodeQgroupLimit(data: Buffer): QgroupLimitItem {
  return qgroupLimit.decode(data, 0);
}
