// ROOT_ITEM (where a tree starts, and for subvolumes their uuids and times) and ROOT_REF /
// ROOT_BACKREF (which directory of which subvolume holds a subvolume, under what name).

import { CorruptError } from '../../errors.js';
import { UUID_SIZE } from '../constants.js';
import { diskKey } from '../key.js';
import { bytes, le16, le32, le64, struct, u8 } from '../struct.js';
import { inodeItem, timespec } from './inode-item.js';

const legacyFields = {
  inode: inodeItem,
  generation: le64,
  root_dirid: le64,
  bytenr: le64,
  byte_limit: le64,
  bytes_used: le64,
  last_snapshot: le64,
  flags: le64,
  refs: le32,
  drop_progress: diskKey,
  drop_level: u8,
  level: u8,
};

export const rootItem = struct('btrfs_root_item', {
  ...legacyFields,
  generation_v2: le64,
  uuid: bytes(UUID_SIZE),
  parent_uuid: bytes(UUID_SIZE),
  received_uuid: bytes(UUID_SIZE),
  ctransid: le64,
  otransid: le64,
  stransid: le64,
  rtransid: le64,
  ctime: timespec,
  otime: timespec,
  stime: timespec,
  rtime: timespec,
  reserved: bytes(64),
});
const legacyRootItem = struct('btrfs_root_item (legacy)', legacyFields);
export const LEGACY_ROOT_ITEM_SIZE = legacyRootItem.size; // 239

export type RootItem = ReturnType<typeof rootItem.decode> & { /** false when only the legacy part is valid */ hasV2: boolean };

const ZERO_UUID = Buffer.alloc(UUID_SIZE);
const ZERO_TIME = { sec: 0n, nsec: 0 };

export function decodeRootItem(data: Buffer): RootItem {
  if (data.length >= rootItem.size) {
    const r = rootItem.decode(data, 0);
    // A generation_v2 that disagrees means an old kernel wrote the item last: the v2 fields are stale.
    return { ...r, hasV2: r.generation_v2 === r.generation };
  }
  if (data.length < LEGACY_ROOT_ITEM_SIZE) throw new CorruptError(`root item is ${data.length} bytes, less than ${LEGACY_ROOT_ITEM_SIZE}`);
  const r = legacyRootItem.decode(data, 0);
  return {
    ...r, generation_v2: 0n, uuid: ZERO_UUID, parent_uuid: ZERO_UUID, received_uuid: ZERO_UUID,
    ctransid: 0n, otransid: 0n, stransid: 0n, rtransid: 0n,
    ctime: ZERO_TIME, otime: ZERO_TIME, stime: ZERO_TIME, rtime: ZERO_TIME, reserved: Buffer.alloc(64), hasV2: false,
  };
}

const rootRefHead = struct('btrfs_root_ref', { dirid: le64, sequence: le64, name_len: le16 });

export interface RootRef {
  dirid: bigint;
  sequence: bigint;
  name: Buffer;
}

export function decodeRootRef(data: Buffer): RootRef {
  const head = rootRefHead.decode(data, 0);
  const end = rootRefHead.size + head.name_len;
  if (end > data.length) throw new CorruptError(`root ref name (${head.name_len} bytes) runs past the item`);
  return { dirid: head.dirid, sequence: head.sequence, name: Buffer.from(data.subarray(rootRefHead.size, end)) };
}
