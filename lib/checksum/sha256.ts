import { hash } from 'node:crypto';
import { CSUM_TYPES, checkStored, type Checksummer } from './types.js';

// OpenSSL's one-shot digest is the fastest SHA-256 Node offers; it returns a fresh 32-byte Buffer,
// which is the only allocation per call.

export const sha256: Checksummer = {
  type: CSUM_TYPES.sha256,
  name: 'sha256',
  size: 32,
  digest(data: Uint8Array): Uint8Array {
    const b = hash('sha256', data, 'buffer');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  matches(data: Uint8Array, stored: Uint8Array, storedOffset = 0): boolean {
    checkStored('sha256', 32, stored, storedOffset);
    const b = hash('sha256', data, 'buffer');
    for (let i = 0; i < 32; i++) if (b[i] !== stored[storedOffset + i]) return false;
    return true;
  },
};
