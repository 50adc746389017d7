import { createRequire } from 'node:module';
import { CorruptError, IoError } from '../errors.js';
import { COMPRESSION, MAX_UNCOMPRESSED, allocOutput, type Decompressor } from './types.js';
import { parseZstdFrameHeader, readZstdBlock } from './zstd-frame.js';

// zstd through zstd-codec (libzstd compiled with emscripten, CommonJS). Two of its bindings are used:
//
// - one-shot (ZstdCodec.decompress: ZSTD_decompress into a vector of the capacity we choose), for a
//   frame our walk has found whole: the input is copied into the WebAssembly heap once, decoded
//   straight into the output vector, and copied out once. A frame that decodes past outputLength
//   fails there (no more than one block past it is decoded), and is then decoded again the second way;
// - streaming (ZstdDecompressStreamBinding, from its lower layer lib/module.js): feed whole blocks
//   only until enough output exists, receive each piece through a callback. Work stays bounded by
//   outputLength however much the frame claims to hold, and a frame that fails is located by block.
//   It costs two copies and a fresh ArrayBuffer per 128 KiB piece, so it is the exception path.
//
// Kernel behaviour mirrored (fs/btrfs/zstd.c): one frame per extent, decoding stops at the frame
// end (the sector padding after it is never parsed), windows above 128 KiB are refused, and for
// regular extents output short of ram_bytes is zero-filled. Deliberate difference: the kernel
// treats a frame cut off by the end of the extent as success (zero-filling the rest); we report
// it as corrupt, since Btrfs never writes one.

interface DecompressStream {
  begin(): boolean;
  transform(chunk: Uint8Array, callback: (out: Uint8Array) => void): boolean;
  delete(): void;
}
/** libzstd's std::vector<uint8_t> as embind registers it. */
interface VectorU8 {
  size(): number;
  resize(n: number, fill: number): void;
}
interface ZstdBinding {
  ZstdDecompressStreamBinding: new () => DecompressStream;
  /** decompress(dest, src): ZSTD_decompress into dest's size; bytes written, or < 0 on any error. */
  codec: { decompress(dest: VectorU8, src: VectorU8): number };
  VectorU8: new () => VectorU8;
  /** Resize `dest` to the array's length and copy it in (one TypedArray#set into the heap). */
  cloneToVector(dest: VectorU8, src: Uint8Array): void;
  /** A view of the vector's bytes in the heap (valid until the vector is resized or freed). */
  toTypedArrayView(v: VectorU8): Uint8Array;
}
interface ZstdModule {
  run(onReady: (binding: Omit<ZstdBinding, 'codec'> & { ZstdCodec: new () => ZstdBinding['codec'] }) => void): void;
}

let binding: Promise<ZstdBinding> | undefined;

function loadBinding(): Promise<ZstdBinding> {
  if (!binding) {
    binding = new Promise<ZstdBinding>((resolve, reject) => {
      try {
        const require = createRequire(import.meta.url);
        // Not resolve(module): the emscripten Module object is a thenable whose then() hands back
        // the Module again, so resolving with it never settles.
        (require('zstd-codec/lib/module.js') as ZstdModule).run((m) =>
          resolve({
            ZstdDecompressStreamBinding: m.ZstdDecompressStreamBinding,
            codec: new m.ZstdCodec(),
            VectorU8: m.VectorU8,
            cloneToVector: m.cloneToVector,
            toTypedArrayView: m.toTypedArrayView,
          }),
        );
      } catch (e) {
        reject(new IoError(`zstd: cannot load zstd-codec: ${(e as Error).message}`));
      }
    });
    binding.catch(() => (binding = undefined));
  }
  return binding;
}

// A decoder left at a frame boundary, reused for the next frame: creating one per extent (a fresh
// decoder context and its buffers inside the WebAssembly heap) cost about a sixth of zstd extraction.
// One at most, as decoding is synchronous; a decoder stopped mid-frame or after an error is deleted.
const idle: DecompressStream[] = [];

/**
 * Decode the frame at the start of `input` into `out`; returns the number of bytes the frame
 * produced up to where decoding stopped (may exceed out.length by the last block's slack).
 */
function decodeFrame(zstd: ZstdBinding, input: Uint8Array, out: Uint8Array): number {
  const want = out.length;
  const header = parseZstdFrameHeader(input);
  let decoded = 0;
  const sink = (chunk: Uint8Array): void => {
    const room = want - decoded;
    if (room > 0) out.set(room >= chunk.length ? chunk : chunk.subarray(0, room), decoded);
    decoded += chunk.length;
  };

  let stream: DecompressStream | undefined;
  let reusable = false;
  try {
    stream = idle.pop();
    if (!stream) {
      stream = new zstd.ZstdDecompressStreamBinding();
      if (!stream.begin()) throw new CorruptError('zstd: decoder failed to start');
    }
    let fed = 0;
    let scan = header.headerSize;
    let last = false;
    while (decoded < want && !last) {
      // Walk (and check) blocks until they could cover the output still wanted, then feed them.
      let bound = 0;
      while (!last && decoded + bound < want) {
        const block = readZstdBlock(input, scan, header);
        scan = block.end;
        bound += block.maxOutput;
        last = block.last;
      }
      if (!stream.transform(input.subarray(fed, scan), sink)) {
        throw new CorruptError(`zstd: decoder rejected the frame in input bytes ${fed}..${scan}`);
      }
      fed = scan;
    }
    // libzstd checks this itself in recent versions; the check is cheap enough to make here too.
    if (last && header.contentSize !== undefined && decoded !== header.contentSize) {
      throw new CorruptError(`zstd: frame declares ${header.contentSize} bytes of content but decodes to ${decoded}`);
    }
    // Fed to the frame's end (checksum included), the decoder waits for a new frame: keep it.
    reusable = last;
    return decoded;
  } catch (e) {
    if (e instanceof CorruptError) throw e;
    // An emscripten abort or a binding error; our checks should make this unreachable.
    throw new CorruptError(`zstd: decoder failed: ${(e as Error)?.message ?? String(e)}`);
  } finally {
    if (stream && reusable) idle.push(stream);
    else stream?.delete();
  }
}

/** Input and output vectors for one-shot decoding, kept in the heap between calls (one per process). */
let vectors: { src: VectorU8; dest: VectorU8 } | undefined;

/**
 * Decode the frame at the start of `input` in one call when it is whole and fits `out`: returns the
 * bytes decoded, or undefined when libzstd refused it (then the streaming decoder says why, or
 * decodes the prefix a longer frame has).
 */
function decodeWholeFrame(zstd: ZstdBinding, input: Uint8Array, out: Uint8Array): number | undefined {
  vectors ??= { src: new zstd.VectorU8(), dest: new zstd.VectorU8() };
  const { src, dest } = vectors;
  try {
    // Walk the frame (checking every block header) to its end, so that libzstd sees exactly one
    // frame: the sector padding after it would read as a second, broken one.
    const header = parseZstdFrameHeader(input);
    let scan = header.headerSize;
    for (let last = false; !last; ) {
      const block = readZstdBlock(input, scan, header);
      scan = block.end;
      last = block.last;
    }
    zstd.cloneToVector(src, input.subarray(0, scan));
    if (dest.size() !== out.length) dest.resize(out.length, 0);
    const n = zstd.codec.decompress(dest, src);
    if (n < 0 || n > out.length) return undefined;
    out.set(zstd.toTypedArrayView(dest).subarray(0, n));
    return n;
  } catch {
    // A frame cut short or malformed (which may not matter when outputLength ends before the
    // damage), an emscripten abort, a binding error: the streaming decoder decides and reports.
    return undefined;
  }
}

export async function createZstd(sectorSize: number): Promise<Decompressor> {
  const zstd = await loadBinding();
  return {
    type: COMPRESSION.zstd,
    name: 'zstd',
    sectorSize,
    decompress(input: Uint8Array, outputLength: number, into?: Uint8Array): Uint8Array {
      const out = allocOutput('zstd', input, outputLength, MAX_UNCOMPRESSED, 'the compressed-extent maximum', into);
      if (outputLength === 0) return out;
      if (decodeWholeFrame(zstd, input, out) !== undefined) return out;
      decodeFrame(zstd, input, out);
      // Frame ended before outputLength: the rest stays zero, as the kernel zero-fills the bio.
      return out;
    },
    decompressInline(input: Uint8Array, outputLength: number): Uint8Array {
      const out = allocOutput('zstd inline', input, outputLength, sectorSize, 'sectorsize');
      if (outputLength === 0) return out;
      const decoded = decodeFrame(zstd, input, out);
      if (decoded < outputLength) {
        throw new CorruptError(`zstd: inline extent decompressed to ${decoded} bytes, ram_bytes is ${outputLength}`);
      }
      return out;
    },
  };
}
