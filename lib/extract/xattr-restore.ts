// Extended attributes for extracted entries, restored with setfattr(1) (Node has no setxattr) in one
// run at the end, after every write and chown (both clear security.capability). Only names the
// caller asked for are restored: by default user.*, as GNU tar does — security.capability,
// trusted.* and ACLs from an image would grant capabilities or permissions on the host.
// The dump is spilled to a temporary file as entries come, so memory does not grow with the tree.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Restored unless more is asked for. */
export const DEFAULT_XATTR_PATTERNS = ['user.*'];

/** A shell-style glob (`*`, `?`, `[...]`) over a whole xattr name. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** getfattr's dump escapes: octal for bytes that would break its line format or are not printable. */
function escape(bytes: Buffer): Buffer {
  const out: number[] = [];
  for (const b of bytes) {
    if (b <= 0x20 || b >= 0x7f || b === 0x5c || b === 0x3d || b === 0x22) out.push(...Buffer.from(`\\${b.toString(8).padStart(3, '0')}`));
    else out.push(b);
  }
  return Buffer.from(out);
}

export class XattrRestore {
  private readonly patterns: RegExp[];
  private dir: string | undefined;
  private fd: number | undefined;
  private entries = 0;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(globToRegExp);
  }

  wants(name: string): boolean {
    return this.patterns.some((p) => p.test(name));
  }

  /** Queue the wanted ones of an entry's xattrs for `path`. */
  add(path: Buffer, xattrs: ReadonlyArray<readonly [string, Buffer]>): void {
    const lines: Buffer[] = [];
    for (const [name, value] of xattrs) {
      if (!this.wants(name)) continue;
      lines.push(escape(Buffer.from(name, 'utf8')), Buffer.from(`=0s${value.toString('base64')}\n`));
    }
    if (!lines.length) return;
    if (this.fd === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'btrfs-lens-xattrs-'));
      this.fd = openSync(join(this.dir, 'dump'), 'wx', 0o600);
    }
    const chunk = Buffer.concat([Buffer.from('# file: '), escape(path), Buffer.from('\n'), ...lines, Buffer.from('\n')]);
    writeSync(this.fd, chunk);
    this.entries++;
  }

  /** Apply everything queued; returns one line per xattr that could not be restored. */
  finish(): string[] {
    if (this.fd === undefined || this.dir === undefined) return [];
    closeSync(this.fd);
    this.fd = undefined;
    try {
      if (this.entries === 0) return [];
      // -h: a symlink's own xattrs, never its target's.
      const r = spawnSync('setfattr', ['-h', `--restore=${join(this.dir, 'dump')}`], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
      if (r.error) return [`xattrs not restored: cannot run setfattr (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`];
      // An xattr the destination cannot hold (too large, a namespace it refuses) is a problem to
      // report, not a reason to stop.
      return r.stderr.toString().split('\n').filter((l) => l.trim()).map((l) => `xattr not restored: ${l.trim()}`);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      this.dir = undefined;
    }
  }
}
