// Every path of an inode inside its subvolume: one per name in its INODE_REF and INODE_EXTREF items
// (each hard link), the directory part found by walking the parents' names up to the subvolume root.

import { PathError, UsageError } from '../errors.js';
import type { Filesystem } from '../fs/filesystem.js';
import { inodeRefs, readInodeItem } from '../fs/inode.js';
import { directoryPath } from '../fs/subvolumes.js';

export interface InodeName {
  /** Directory inode holding the name. */
  parent: bigint;
  /** DIR_INDEX position of the name in that directory. */
  index: bigint;
  name: Buffer;
  /** Path inside the subvolume, "/" for its root directory. */
  path: string;
}

/** The names of inode `ino` of subvolume `subvol`, in INODE_REF then INODE_EXTREF order. */
export async function inodeNames(fs: Filesystem, subvol: bigint, ino: bigint): Promise<InodeName[]> {
  const found = await fs.rootItem(subvol);
  if (!found) throw new UsageError(`no subvolume with id ${subvol}`);
  const tree = await fs.tree(subvol);
  if (!(await readInodeItem(tree, ino))) throw new PathError('ENOENT', 'inode-resolve', `inode ${ino} in subvolume ${subvol}`);
  if (ino === found.item.root_dirid) return [{ parent: ino, index: 0n, name: Buffer.alloc(0), path: '/' }];
  const dirs = new Map<bigint, string>();
  const out: InodeName[] = [];
  for (const ref of await inodeRefs(tree, ino)) {
    let dir = dirs.get(ref.parent);
    if (dir === undefined) {
      dir = await directoryPath(fs, subvol, ref.parent);
      dirs.set(ref.parent, dir);
    }
    const name = ref.name.toString('utf8');
    out.push({ parent: ref.parent, index: ref.index, name: ref.name, path: dir ? `/${dir}/${name}` : `/${name}` });
  }
  return out;
}
