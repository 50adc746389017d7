// Verifying an acquisition: hash the whole media of an EWF image chunk by chunk and compare with the
// MD5/SHA1 the acquisition stored; chunks whose own checksum fails (the Adler-32 of a stored chunk,
// zlib's of a compressed one) are named, so a mismatch says where the damage is.

import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { openImageFile } from './container.js';
import { EwfSource, type ChunkLocation } from './ewf.js';

export interface BadChunk extends ChunkLocation {
  /** Media bytes the chunk holds. */
  start: number;
  end: number;
  problem: string;
}

export interface HashVerdict {
  algorithm: 'md5' | 'sha1';
  computed: string;
  stored: string;
  match: boolean;
}

export interface VerifyReport {
  image: string;
  mediaSize: number;
  chunks: number;
  hashes: HashVerdict[];
  badChunks: BadChunk[];
  /** Every stored hash matched and no chunk failed its checksum. */
  ok: boolean;
}

/** At most this many bad chunks are listed (all are counted in the hash anyway). */
const MAX_BAD_CHUNKS = 1000;

export async function verifyImage(path: string, onProgress?: (bytes: number, total: number) => void): Promise<VerifyReport> {
  const source = await openImageFile(path);
  try {
    if (!(source instanceof EwfSource)) throw new UsageError(`${path}: verify-image reads EWF (E01) images, which store an acquisition hash; this is ${source.container?.format ?? 'a raw image'}`);
    const stored = source.hashes;
    if (!stored.md5 && !stored.sha1) throw new UsageError(`${path}: the image stores no MD5 or SHA1 hash to verify against`);
    const md5 = createHash('md5');
    const sha1 = createHash('sha1');
    const bad: BadChunk[] = [];
    let bytes = 0;
    for (let i = 0; i < source.chunkCount; i++) {
      const r = await source.readChunk(i);
      if (stored.md5) md5.update(r.data);
      if (stored.sha1) sha1.update(r.data);
      if (r.problem && bad.length < MAX_BAD_CHUNKS) bad.push({ ...r.location, start: bytes, end: bytes + r.data.length, problem: r.problem });
      bytes += r.data.length;
      onProgress?.(bytes, source.size);
    }
    const hashes: HashVerdict[] = [];
    if (stored.md5) hashes.push(verdict('md5', md5.digest('hex'), stored.md5));
    if (stored.sha1) hashes.push(verdict('sha1', sha1.digest('hex'), stored.sha1));
    return { image: path, mediaSize: source.size, chunks: source.chunkCount, hashes, badChunks: bad, ok: bad.length === 0 && hashes.every((h) => h.match) };
  } finally {
    await source.close();
  }
}

function verdict(algorithm: HashVerdict['algorithm'], computed: string, stored: string): HashVerdict {
  return { algorithm, computed, stored, match: computed === stored };
}
