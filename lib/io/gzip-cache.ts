// Gzip-compressed images (as the fixtures are committed) are decompressed once into a cache file
// and read from there: gzip has no random access, and the original is never touched.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { IoError } from '../errors.js';

export function isGzipPath(path: string): boolean {
  return path.endsWith('.gz');
}

function cacheDir(): string {
  const base = process.env.BTRFS_LENS_CACHE ?? (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'btrfs-lens') : join(homedir() || tmpdir(), '.cache', 'btrfs-lens'));
  return base;
}

/** Path of the decompressed copy of `path`, made if missing or stale (keyed by path, size, mtime). */
export async function gunzipToCache(path: string): Promise<string> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new IoError(`cannot open image (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`, { device: path });
  }
  const id = createHash('sha256').update(`${abs}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 24);
  const dir = cacheDir();
  const out = join(dir, `${id}.img`);
  if (await stat(out).then((s) => s.isFile(), () => false)) return out;
  await mkdir(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await pipeline(createReadStream(abs), createGunzip(), createWriteStream(tmp));
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new IoError(`cannot decompress gzip image: ${(e as Error).message}`, { device: path });
  }
  return out;
}
