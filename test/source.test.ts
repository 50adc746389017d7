// Byte sources: whatever the order and size of reads (small ones are served from a read-ahead
// window), every read returns exactly the file's bytes.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IoError } from '../lib/errors.js';
import { FileSource } from '../lib/io/source.js';

describe('file source', () => {
  let dir: string;
  let path: string;
  const data = randomBytes(3 * 1024 * 1024 + 1234);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'btrfs-lens-source-'));
    path = join(dir, 'image');
    writeFileSync(path, data);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the file\'s bytes for forward scans, jumps back, overlaps, large reads and the very end', async () => {
    const src = await FileSource.open(path);
    try {
      let state = 7;
      const next = (n: number) => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % n;
      let pos = 0;
      const into = Buffer.alloc(2 * 1024 * 1024);
      for (let i = 0; i < 3000; i++) {
        const r = next(100);
        // Mostly small reads just ahead (the pattern the window serves), some jumps and big reads.
        const length = r < 5 ? 1 + next(2 * 1024 * 1024) : 1 + next(20000);
        if (r < 10) pos = next(data.length);
        else if (r < 15) pos = Math.max(0, pos - next(300000));
        else pos += next(8192);
        if (pos + length > data.length) pos = data.length - length;
        const got = i % 2 ? await src.read(pos, length) : await src.read(pos, length, into);
        assert.ok(got.subarray(0, length).equals(data.subarray(pos, pos + length)), `read ${i}: ${length} bytes at ${pos}`);
        pos += length;
      }
      assert.ok((await src.read(data.length - 10, 10)).equals(data.subarray(data.length - 10)));
      await assert.rejects(src.read(data.length - 10, 11), IoError);
    } finally {
      await src.close();
    }
  });

  it('a read whose read-ahead fails (the file ends early: a disk gone bad ahead) still returns its own bytes', async () => {
    const src = await FileSource.open(path);
    try {
      const at = data.length - 200000;
      await src.read(at - 5000, 100); // a forward scan is under way
      truncateSync(path, at + 5000); // the window's fill cannot complete now
      assert.ok((await src.read(at, 4096)).equals(data.subarray(at, at + 4096)));
      await assert.rejects(src.read(at + 4096, 4096), /unexpected end of file/);
    } finally {
      await src.close();
      writeFileSync(path, data);
    }
  });
});
