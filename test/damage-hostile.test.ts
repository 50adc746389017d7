// Bounded work on hostile images: structures forged to loop or to claim absurd sizes, with their tree
// block checksums recomputed so only the checks after the checksum stand between them and a hang.
// Each ends quickly, in a typed error (or, through --ignore-errors, a report and the rest listed).

import assert from 'node:assert/strict';
import { CorruptError, PathError, UsageError } from '../lib/errors.js';
import { Filesystem } from '../lib/fs/filesystem.js';
import { walk } from '../lib/fs/walk.js';
import { open, type Btrfs } from '../lib/index.js';
import { KeyType, ObjectId } from '../lib/ondisk/constants.js';
import { dirItemHead } from '../lib/ondisk/items/dir-item.js';
import { fileExtentItem, INLINE_DATA_START } from '../lib/ondisk/items/file-extent.js';
import { inodeItem } from '../lib/ondisk/items/inode-item.js';
import { header, HEADER_SIZE, keyPtr } from '../lib/ondisk/node.js';
import { runCli } from './helpers/cli.js';
import { loadManifest } from './helpers/fixtures.js';
import { forgeBlock, forgeItem, tempCopy, type TempImage } from './damage-helpers.js';

/** Everything here must end within this (a hang would run into the mocha timeout instead). */
const QUICK_MS = 15_000;

async function forged(edit: (fs: Filesystem) => Promise<() => void>): Promise<TempImage> {
  const t = await tempCopy('basic');
  const fs = await Filesystem.open([t.paths[0]!]);
  let write: () => void;
  try {
    write = await edit(fs);
  } finally {
    await fs.close();
  }
  write();
  return t;
}

/** Open the forged copy through the public API, use it, then close it and delete the copy. */
async function readForged(t: TempImage, use: (fs: Btrfs) => Promise<void>): Promise<void> {
  try {
    const fs = await open(t.paths[0]!);
    try {
      await use(fs);
    } finally {
      await fs.close();
    }
  } finally {
    await t.cleanup();
  }
}

async function quickly<T>(what: string, body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const r = await body();
  assert.ok(Date.now() - start < QUICK_MS, `${what} took ${Date.now() - start} ms`);
  return r;
}

const ino = (path: string) => BigInt(loadManifest('basic').entries.find((e) => e.path === path)!.ino);

describe('damage: hostile structures end quickly in typed errors', function () {
  this.timeout(120_000);

  it('a tree node pointing to itself', async () => {
    const t = await forged(async (fs) => {
      const root = await fs.blocks.read((await fs.tree(ObjectId.FS_TREE)).root.bytenr);
      assert.ok(root.level > 0);
      const buf = Buffer.from(root.buf);
      buf.writeBigUInt64LE(root.header.bytenr, HEADER_SIZE + keyPtr.offsetOf('blockptr'));
      return () => forgeBlock(fs, root.header.bytenr, buf);
    });
    try {
      await quickly('open + walk', async () => {
        await assert.rejects(async () => {
          const fs = await open(t.paths[0]!);
          try {
            for await (const _ of walk(fs, '/')) { /* walk */ }
          } finally {
            await fs.close();
          }
        }, (e: unknown) => e instanceof CorruptError && /points to itself|level mismatch/.test(e.message));
      });
    } finally {
      await t.cleanup();
    }
  });

  it('a directory entry leading back to an ancestor: a cycle, not an endless walk', async () => {
    const parent = ino('/deep/level01/level02');
    const ancestor = ino('/deep/level01');
    const t = await forged(async (fs) => {
      const { write } = await forgeItem(fs, ObjectId.FS_TREE, (k) => k.objectid === parent && k.type === KeyType.DIR_INDEX, (leaf, at) => {
        leaf.writeBigUInt64LE(ancestor, at + dirItemHead.offsetOf('location'));
      });
      return write;
    });
    try {
      const strict = await quickly('ls -R', () => runCli(['ls', '-R', t.paths[0]!, '/deep']));
      assert.equal(strict.code, 4);
      assert.match(strict.stderr, /^btrfs-lens: directory cycle: a directory is reachable twice: .*path=\/deep\/level01\/level02\/level03/);
      const salvaged = await quickly('ls -R --ignore-errors', () => runCli(['ls', '-R', '--ignore-errors', t.paths[0]!, '/']));
      assert.equal(salvaged.code, 1);
      assert.equal(salvaged.stderr.trim().split('\n').length, 1, salvaged.stderr);
      assert.match(salvaged.stderr, /directory cycle/);
      // Everything but what lies below the entry that loops back is listed.
      const listed = salvaged.stdout.toString().trim().split('\n').length;
      const entries = loadManifest('basic').entries;
      assert.equal(listed, entries.filter((e) => !e.path.startsWith('/deep/level01/level02/level03/')).length);
    } finally {
      await t.cleanup();
    }
  });

  it('a symlink that resolves through itself: ELOOP after 40 links', async () => {
    const link = ino('/links/dangling');
    const t = await forged(async (fs) => {
      const { write } = await forgeItem(fs, ObjectId.FS_TREE, (k) => k.objectid === link && k.type === KeyType.EXTENT_DATA, (leaf, at, size) => {
        const target = Buffer.from('./././dangling');
        assert.equal(size - INLINE_DATA_START, target.length, 'same length as the original target');
        target.copy(leaf, at + INLINE_DATA_START);
      });
      return write;
    });
    await readForged(t, async (fs) => {
      assert.equal(await fs.readlink('/links/dangling'), './././dangling');
      await quickly('stat', () => assert.rejects(fs.stat('/links/dangling/x'), (e: unknown) => e instanceof PathError && e.code === 'ELOOP'));
      const cli = await runCli(['cat', t.paths[0]!, '/links/dangling']);
      assert.equal(cli.code, 3);
      assert.match(cli.stderr, /^btrfs-lens: \S+basic\.img: ELOOP: too many levels of symbolic links/);
    });
  });

  it('a file claiming an exabyte reads its holes on demand, and refuses a whole-file read', async () => {
    const file = ino('/extents/regular-1m');
    const huge = 2n ** 60n;
    const t = await forged(async (fs) => {
      const { write } = await forgeItem(fs, ObjectId.FS_TREE, (k) => k.objectid === file && k.type === KeyType.INODE_ITEM, (leaf, at) => {
        leaf.writeBigUInt64LE(huge, at + inodeItem.offsetOf('size'));
      });
      return write;
    });
    await readForged(t, async (fs) => {
      assert.equal((await fs.stat('/extents/regular-1m', { bigint: true })).size, huge);
      await assert.rejects(fs.readFile('/extents/regular-1m'), (e: unknown) => e instanceof UsageError);
      const tail = await quickly('read at the end', () => fs.read('/extents/regular-1m', huge - 4096n, 4096));
      assert.ok(tail.length === 4096 && tail.every((b) => b === 0));
    });
  });

  it('a file extent claiming a petabyte is refused by the tree-checker', async () => {
    const file = ino('/extents/regular-1m');
    const t = await forged(async (fs) => {
      const { write } = await forgeItem(fs, ObjectId.FS_TREE, (k) => k.objectid === file && k.type === KeyType.EXTENT_DATA, (leaf, at) => {
        leaf.writeBigUInt64LE(2n ** 50n, at + fileExtentItem.offsetOf('num_bytes'));
      });
      return write;
    });
    await readForged(t, async (fs) => {
      await quickly('read', () => assert.rejects(fs.readFile('/extents/regular-1m'), (e: unknown) => e instanceof CorruptError && /exceeds disk_num_bytes/.test(e.message)));
    });
  });

  it('a leaf claiming four billion items', async () => {
    const file = ino('/extents/regular-1m');
    const t = await forged(async (fs) => {
      const { bytenr } = await forgeItem(fs, ObjectId.FS_TREE, (k) => k.objectid === file && k.type === KeyType.INODE_ITEM, () => undefined);
      const leaf = Buffer.from((await fs.blocks.read(bytenr)).buf);
      leaf.writeUInt32LE(0xffffffff, header.offsetOf('nritems'));
      return () => forgeBlock(fs, bytenr, leaf);
    });
    await readForged(t, async (fs) => {
      await quickly('stat', () => assert.rejects(fs.stat('/extents/regular-1m'), (e: unknown) => e instanceof CorruptError && /leaf claims 4294967295 items/.test(e.message)));
    });
  });
});
