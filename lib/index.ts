// btrfs-lens: read Btrfs images with an API shaped like node:fs/promises.
//
//   import { open } from 'btrfs-lens';
//   const fs = await open('disk.img');
//   for (const d of await fs.readdir('/', { withFileTypes: true })) console.log(d.name, d.type);

import { Btrfs, type OpenOptions } from './fs/btrfs.js';

export { Btrfs, type Dirent, type OpenOptions } from './fs/btrfs.js';
export { BtrfsStats, BtrfsBigIntStats, type FileKind } from './fs/stats.js';
export type { Subvolume } from './fs/subvolumes.js';
export type { RawFileExtent, Mapping } from './fs/file-extents.js';
export type { ReaderCounters } from './reader/file-reader.js';
export type { DamageWarning } from './fs/warnings.js';
export { extract, type ExtractOptions, type ExtractSummary } from './extract/extract.js';
export { OutputError } from './extract/output-tree.js';
export * from './errors.js';

/** Open an image (or the members of a multi-device filesystem) read-only. */
export function open(images: string | string[], options: OpenOptions = {}): Promise<Btrfs> {
  return Btrfs.open(images, options);
}
