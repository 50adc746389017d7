import { CSUM_TYPES, checkStored, type Checksummer } from './types.js';

// Btrfs uses XXH64 with seed 0 and stores the 64-bit result little-endian.

const MASK32 = 0xffffffffn;

export async function createXxhash64(): Promise<Checksummer> {
  // Imported here, not at the top: only xxhash filesystems pay for loading its WebAssembly.
  const { default: xxhash } = await import('xxhash-wasm');
  const { h64Raw } = await xxhash();
  return {
    type: CSUM_TYPES.xxhash64,
    name: 'xxhash64',
    size: 8,
    digest(data: Uint8Array): Uint8Array {
      const h = h64Raw(data, 0n);
      const out = new Uint8Array(8);
      const view = new DataView(out.buffer);
      view.setUint32(0, Number(h & MASK32), true);
      view.setUint32(4, Number(h >> 32n), true);
      return out;
    },
    matches(data: Uint8Array, stored: Uint8Array, storedOffset = 0): boolean {
      checkStored('xxhash64', 8, stored, storedOffset);
      const o = storedOffset;
      const lo = (stored[o]! | (stored[o + 1]! << 8) | (stored[o + 2]! << 16) | (stored[o + 3]! << 24)) >>> 0;
      const hi = (stored[o + 4]! | (stored[o + 5]! << 8) | (stored[o + 6]! << 16) | (stored[o + 7]! << 24)) >>> 0;
      // The WASM call hands back a bigint; splitting it costs two small temporaries, no buffers.
      const h = h64Raw(data, 0n);
      return Number(h & MASK32) === lo && Number(h >> 32n) === hi;
    },
  };
}
