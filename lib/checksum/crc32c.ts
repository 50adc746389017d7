import CRC32C from 'crc-32/crc32c.js';
import { CSUM_TYPES, checkStored, type Checksummer } from './types.js';

// Btrfs seeds CRC32C with ~0 and stores the final, inverted value little-endian
// (btrfs_csum_data / crypto "crc32c" shash). crc-32's buf(data, 0) computes exactly that:
// it starts from seed ^ -1 and returns ~crc, as a signed 32-bit number.

export const crc32c: Checksummer = {
  type: CSUM_TYPES.crc32c,
  name: 'crc32c',
  size: 4,
  digest(data: Uint8Array): Uint8Array {
    const c = CRC32C.buf(data, 0);
    const out = new Uint8Array(4);
    out[0] = c;
    out[1] = c >>> 8;
    out[2] = c >>> 16;
    out[3] = c >>> 24;
    return out;
  },
  matches(data: Uint8Array, stored: Uint8Array, storedOffset = 0): boolean {
    checkStored('crc32c', 4, stored, storedOffset);
    const o = storedOffset;
    const want = stored[o]! | (stored[o + 1]! << 8) | (stored[o + 2]! << 16) | (stored[o + 3]! << 24);
    return (CRC32C.buf(data, 0) | 0) === want;
  },
};
