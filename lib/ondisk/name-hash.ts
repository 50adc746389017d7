// btrfs_name_hash: the key offset of DIR_ITEM and XATTR_ITEM is crc32c of the name seeded with
// (u32)~1, with neither the usual pre- nor post-inversion.

import CRC32C from 'crc-32/crc32c.js';

export function nameHash(name: Uint8Array): bigint {
  // crc-32's buf(data, seed) computes ~update(~seed, data); we want update(0xfffffffe, data).
  return BigInt(~CRC32C.buf(name, 1) >>> 0);
}
