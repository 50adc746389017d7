// One entry described the way `ls --json` prints it and the fixtures' manifests record it.

import type { Btrfs } from './btrfs.js';
import { splitDev } from './stats.js';
import { formatTimeNs } from './time.js';
import type { WalkEntry } from './walk.js';

export interface EntryInfo {
  path: string;
  type: string;
  subvol: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atime: string;
  mtime: string;
  ctime: string;
  otime: string;
  target?: string;
  rdev?: [number, number];
  xattrs: Record<string, string>;
}

export async function entryInfo(fs: Btrfs, e: WalkEntry): Promise<EntryInfo> {
  const f = e.facts;
  const info: EntryInfo = {
    path: e.path, type: e.kind, subvol: Number(f.subvol), ino: Number(f.ino), mode: f.mode, uid: f.uid, gid: f.gid,
    size: Number(f.size), nlink: f.nlink,
    atime: formatTimeNs(f.atimeNs), mtime: formatTimeNs(f.mtimeNs), ctime: formatTimeNs(f.ctimeNs), otime: formatTimeNs(f.birthtimeNs),
    xattrs: {},
  };
  if (e.kind === 'symlink') info.target = (await fs.readlinkNode(e.node)).toString('utf8');
  if (e.kind === 'chr' || e.kind === 'blk') {
    const { major, minor } = splitDev(f.rdev);
    info.rdev = [major, minor];
  }
  for (const [name, value] of await fs.xattrsNode(e.node)) info.xattrs[name] = value.toString('base64');
  return info;
}
