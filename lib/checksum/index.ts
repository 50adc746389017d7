// One interface over Btrfs's four checksum algorithms (superblock csum_type).
//
//   const cs = await loadChecksummer(sb.csumType);   // async once: xxhash64 instantiates WASM
//   cs.matches(sector, csumItem, i * cs.size);      // sync afterwards, no allocation for crc32c/blake2b

import { UnsupportedError } from '../errors.js';
import { blake2b } from './blake2b.js';
import { loadCrc32c } from './crc32c.js';
import { sha256 } from './sha256.js';
import { CSUM_TYPES, type Checksummer } from './types.js';
import { createXxhash64 } from './xxhash64.js';

export { CSUM_FIELD_SIZE, CSUM_TYPES, type ChecksumName, type Checksummer } from './types.js';

const loaded = new Map<number, Promise<Checksummer>>();

/** The checksummer for an on-disk csum_type. Throws UnsupportedError for types Btrfs does not define. */
export function loadChecksummer(csumType: number): Promise<Checksummer> {
  let p = loaded.get(csumType);
  if (!p) {
    p = create(csumType);
    loaded.set(csumType, p);
    // A failed WASM instantiation should not poison later attempts.
    p.catch(() => loaded.delete(csumType));
  }
  return p;
}

async function create(csumType: number): Promise<Checksummer> {
  switch (csumType) {
    case CSUM_TYPES.crc32c:
      return loadCrc32c();
    case CSUM_TYPES.xxhash64:
      return createXxhash64();
    case CSUM_TYPES.sha256:
      return sha256;
    case CSUM_TYPES.blake2b:
      return blake2b;
    default:
      throw new UnsupportedError(`checksum type ${csumType} (known: 0 crc32c, 1 xxhash64, 2 sha256, 3 blake2b)`);
  }
}

/** Lowercase hex of the first `size` bytes of a sum, as ChecksumError and dump-super show it. */
export function csumToHex(sum: Uint8Array, size = sum.length, offset = 0): string {
  let s = '';
  for (let i = 0; i < size; i++) s += (sum[offset + i] ?? 0).toString(16).padStart(2, '0');
  return s;
}
