// The read path's DecompressFn over lib/compression: the WASM-backed codecs are loaded once per
// open(), so decompression itself stays synchronous.

import { loadDecompressor, type Decompressor } from '../compression/index.js';
import { Compression } from '../ondisk/constants.js';
import { UnsupportedError } from '../errors.js';
import type { DecompressFn } from './read-path.js';

export async function loadDecompress(sectorsize: number): Promise<DecompressFn> {
  const codecs = new Map<number, Decompressor>();
  for (const type of [Compression.ZLIB, Compression.LZO, Compression.ZSTD]) codecs.set(type, await loadDecompressor(type, sectorsize));
  return (type, input, outputLength, inline) => {
    const codec = codecs.get(type);
    if (!codec) throw new UnsupportedError(`compression type ${type}`);
    const out = inline ? codec.decompressInline(input, outputLength) : codec.decompress(input, outputLength);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  };
}
