// Access to the committed fixture images (fixtures/<name>/) and their golden manifests.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { manifestSchema, type Manifest } from './manifest.js';

/** Absolute path of the repository's fixtures/ (this file runs as dist/test/helpers/fixtures.js). */
export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

/** Where fixtureImages() puts decompressed images (git-ignored). */
export const FIXTURES_CACHE_DIR = path.join(FIXTURES_DIR, '.cache');

/**
 * Every fixture image folder: fixtures/<name>/ with a manifest.json and at least one .img.gz, sorted.
 * (Folders of other test data, such as fixtures/vectors/, may have a manifest.json of their own.)
 */
export function fixtureNames(): string[] {
  return fs
    .readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .filter((name) => {
      const files = fs.readdirSync(path.join(FIXTURES_DIR, name));
      return files.includes('manifest.json') && files.some((f) => f.endsWith('.img.gz'));
    })
    .sort();
}

const manifests = new Map<string, Manifest>();

/** The fixture's manifest.json, parsed and validated (throws on any schema violation). */
export function loadManifest(name: string): Manifest {
  let m = manifests.get(name);
  if (!m) {
    const text = fs.readFileSync(path.join(FIXTURES_DIR, name, 'manifest.json'), 'utf8');
    m = manifestSchema.parse(JSON.parse(text));
    manifests.set(name, m);
  }
  return m;
}

/**
 * Decompressed image file(s) of a fixture, absolute paths ordered by devid. Each `.img.gz` is
 * decompressed on first use into fixtures/.cache/<name>/<file without .gz>, streaming (never the whole
 * image in memory), sparse (all-zero blocks are skipped, not written), to a unique temporary name that is
 * renamed into place, so concurrent test processes cannot see a partial file. A cached file is reused when
 * it has the recorded size and is not older than its .gz.
 */
export async function fixtureImages(name: string): Promise<string[]> {
  const m = loadManifest(name);
  const devices = [...m.devices].sort((a, b) => a.devid - b.devid);
  const out: string[] = [];
  for (const dev of devices) {
    const gz = path.join(FIXTURES_DIR, name, dev.file);
    const dest = path.join(FIXTURES_CACHE_DIR, name, dev.file.replace(/\.gz$/, ''));
    if (!isFresh(dest, gz, dev.size)) {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      try {
        const written = await gunzipSparse(gz, tmp);
        if (written !== dev.size) {
          throw new Error(`${dev.file}: decompressed to ${written} bytes, manifest says ${dev.size}`);
        }
        fs.renameSync(tmp, dest);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw err;
      }
    }
    out.push(dest);
  }
  return out;
}

function isFresh(dest: string, gz: string, size: number): boolean {
  try {
    const st = fs.statSync(dest);
    return st.size === size && st.mtimeMs >= fs.statSync(gz).mtimeMs;
  } catch {
    return false;
  }
}

const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

/** gunzip src into a new sparse file dest; resolves to the decompressed size. */
async function gunzipSparse(src: string, dest: string): Promise<number> {
  const fd = fs.openSync(dest, 'wx');
  let position = 0;
  try {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        try {
          for (let off = 0; off < chunk.length; off += BLOCK) {
            const n = Math.min(BLOCK, chunk.length - off);
            if (ZEROS.compare(chunk, off, off + n, 0, n) !== 0) {
              let w = 0;
              while (w < n) w += fs.writeSync(fd, chunk, off + w, n - w, position + w);
            }
            position += n;
          }
          done();
        } catch (err) {
          done(err as Error);
        }
      },
    });
    await pipeline(fs.createReadStream(src), createGunzip({ chunkSize: BLOCK }), sink);
    fs.ftruncateSync(fd, position);
    return position;
  } finally {
    fs.closeSync(fd);
  }
}
