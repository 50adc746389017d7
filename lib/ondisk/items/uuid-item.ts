// UUID_KEY_SUBVOL / UUID_KEY_RECEIVED_SUBVOL in the uuid tree: the key holds a subvolume uuid (upper
// half as objectid, lower half as offset, both little-endian reads of the uuid bytes); the item lists
// the subvolume ids carrying it.

import { CorruptError } from '../../errors.js';

export function decodeUuidItem(data: Buffer): bigint[] {
  if (data.length % 8 !== 0) throw new CorruptError(`uuid item is ${data.length} bytes, not a multiple of 8`);
  const ids: bigint[] = [];
  for (let at = 0; at < data.length; at += 8) ids.push(data.readBigUInt64LE(at));
  return ids;
}
