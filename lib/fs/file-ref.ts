// A regular file as the data readers see it: where its extent items are, how long it is, and whether
// its data carries checksums.

import type { Tree } from '../tree/tree.js';

export interface FileRef {
  subvol: bigint;
  ino: bigint;
  /** The subvolume tree holding its EXTENT_DATA items. */
  tree: Tree;
  size: bigint;
  /** Inode has NODATASUM: its data has no checksums to verify. */
  nodatasum: boolean;
  /** For messages. */
  path: string;
}
