// Finding the parent of a differencing disk (VHD, VHDX) or the backing file of a qcow2: among the
// names the child records (relative first, then absolute, then a bare file name), the first that
// exists beside the child, else the first named (so the error names what was looked for).

import { stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';

/** Windows paths as recorded ("..\\disks\\base.vhd", "C:\\vm\\base.vhdx") made usable here. */
export function portablePath(recorded: string): string {
  const p = recorded.replace(/^\\\\\?\\/, '').replace(/\\/g, '/');
  return /^[A-Za-z]:\//.test(p) ? p.slice(2) : p;
}

/** The first candidate (relative to the child's folder) that is a file, else the first one. */
export async function pickParent(child: string, candidates: string[]): Promise<string | undefined> {
  const names = candidates.filter((c) => c.length > 0).map(portablePath);
  // An absolute path from another machine rarely exists here: its file name beside the child may.
  const expanded = names.flatMap((n) => (isAbsolute(n) ? [n, basename(n)] : [n]));
  for (const n of expanded) {
    if (await stat(resolve(dirname(child), n)).then((s) => s.isFile(), () => false)) return n;
  }
  return expanded[0];
}
