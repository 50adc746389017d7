// Adapter from the read path's DecompressFn to lib/compression (loaded once per open()).
import { UnsupportedError } from '../errors.js';
import type { DecompressFn } from './read-path.js';

export async function loadDecompress(_sectorsize: number): Promise<DecompressFn> {
  return (type) => {
    throw new UnsupportedError(`compression type ${type}`);
  };
}
