import { createRequire } from 'node:module';
import { CorruptError, IoError } from '../errors.js';
import { COMPRESSION, MAX_UNCOMPRESSED, allocOutput, type Decompressor } from './types.js';
import { parseZstdFrameHeader, readZstdBlock } from './zstd-frame.js';

// zstd through zstd-codec (libzstd compiled with emscripten, CommonJS). Its public wrapper only
// offers decompress-everything calls; its lower layer, lib/module.js, exposes the streaming binding
// we need: feed some input, receive the output produced so far through a callback. That lets us
// feed whole blocks only until enough output exists, so the work stays bounded by outputLength
// (plus at most one 128 KiB block) however much the frame claims to hold.
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
interface ZstdBinding {
  ZstdDecompressStreamBinding: new () => DecompressStream;
}
interface ZstdModule {
  run(onReady: (binding: ZstdBinding) => void): void;
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
          resolve({ ZstdDecompressStreamBinding: m.ZstdDecompressStreamBinding }),
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

export async function createZstd(sectorSize: number): Promise<Decompressor> {
  const zstd = await loadBinding();
  return {
    type: COMPRESSION.zstd,
    name: 'zstd',
    sectorSize,
    decompress(input: Uint8Array, outputLength: number): Uint8Array {
      const out = allocOutput('zstd', input, outputLength, MAX_UNCOMPRESSED, 'the compressed-extent maximum');
      if (outputLength === 0) return out;
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
