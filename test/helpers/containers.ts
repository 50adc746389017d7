// The container fixtures (fixtures/containers/, made by fixtures/make-container-fixtures.sh from
// kernel-made images with qemu-img, qemu-io, split and ewfacquire): their index, and their files
// decompressed once into fixtures/.cache/containers/ under their own names (segment files, extents
// and backing files are found by name beside the one opened).

import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import { FIXTURES_CACHE_DIR, FIXTURES_DIR } from './fixtures.js';

export const CONTAINERS_DIR = path.join(FIXTURES_DIR, 'containers');
export const CONTAINERS_CACHE = path.join(FIXTURES_CACHE_DIR, 'containers');

const indexSchema = z.object({
  tools: z.record(z.string(), z.string()),
  containers: z.array(z.object({
    name: z.string(), fixture: z.string(), format: z.string(), open: z.string(), files: z.array(z.string()).min(1),
    options: z.array(z.string()), commands: z.array(z.string()).min(1),
  })),
});
export type ContainerFixture = z.infer<typeof indexSchema>['containers'][number];

export function containerIndex(): ContainerFixture[] {
  return indexSchema.parse(JSON.parse(fs.readFileSync(path.join(CONTAINERS_DIR, 'index.json'), 'utf8'))).containers;
}

/** Every file of the container fixtures decompressed (once); returns the cache folder. */
export async function containerFiles(): Promise<string> {
  fs.mkdirSync(CONTAINERS_CACHE, { recursive: true });
  for (const gz of fs.readdirSync(CONTAINERS_DIR).filter((f) => f.endsWith('.gz'))) {
    const dest = path.join(CONTAINERS_CACHE, gz.slice(0, -3));
    const src = path.join(CONTAINERS_DIR, gz);
    if (fs.existsSync(dest) && fs.statSync(dest).mtimeMs >= fs.statSync(src).mtimeMs) continue;
    const tmp = `${dest}.${process.pid}.tmp`;
    await pipeline(fs.createReadStream(src), createGunzip(), fs.createWriteStream(tmp));
    fs.renameSync(tmp, dest);
  }
  return CONTAINERS_CACHE;
}

/** A private copy of some container files (for damaging them), in a new temporary folder. */
export function copyFiles(names: string[], into: string): void {
  fs.mkdirSync(into, { recursive: true });
  for (const n of names) fs.copyFileSync(path.join(CONTAINERS_CACHE, n), path.join(into, n));
}
