// The read path's DecompressFn over lib/compression. Decompression itself is synchronous; a codec is
// loaded (`prepare`) the first time an extent of its type is met, because zstd-codec's WebAssembly
// takes a tenth of a second to instantiate and most commands on most images never need it.

import { loadDecompressor, type Decompressor } from '../compression/index.js';
import { UnsupportedError } from '../errors.js';
import type { DecompressFn } from '../extents/data-extents.js';

export interface LazyDecompress {
  decompress: DecompressFn;
  /** Load the codec for `type` (once); an unknown type is an UnsupportedError. */
  prepare(type: number): Promise<void>;
}

export function loadDecompress(sectorsize: number): LazyDecompress {
  const codecs = new Map<number, Decompressor>();
  return {
    async prepare(type) {
      // loadDecompressor caches the load itself (and forgets a failed one).
      if (!codecs.has(type)) codecs.set(type, await loadDecompressor(type, sectorsize));
    },
    decompress(type, input, outputLength, inline, into) {
      const codec = codecs.get(type);
      if (!codec) throw new UnsupportedError(`compression type ${type} (codec not loaded)`);
      const out = inline ? codec.decompressInline(input, outputLength) : codec.decompress(input, outputLength, into);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
  };
}
