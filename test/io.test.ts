// Opening images: partitions, offsets, gzip, device discovery, and the one-line errors a user gets
// for a missing device, a file that is not Btrfs, a truncated image, a path that does not exist and
// a damaged data sector.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, open as openFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { adler32 } from '../lib/io/adler32.js';
import { extentMap } from '../lib/fs/extent-map.js';
import { open } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_DIR, fixtureImages, loadManifest } from './helpers/fixtures.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('opening images', function () {
  this.timeout(300_000);
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'btrfs-lens-io-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('finds the Btrfs partition of a GPT disk by itself, or by --partition, or by --offset', async () => {
    const m = loadManifest('gpt');
    const [disk] = await fixtureImages('gpt');
    const want = m.entries.map((e) => e.path).sort();
    for (const options of [{}, { partition: m.partition!.number }, { offset: m.partition!.offset }]) {
      const fs = await open(disk!, options);
      try {
        const got: string[] = [];
        const { walk } = await import('../lib/fs/walk.js');
        for await (const e of walk(fs)) got.push(e.path);
        assert.deepEqual(got.sort(), want, JSON.stringify(options));
      } finally {
        await fs.close();
      }
    }
    const wrong = await runCli(['ls', disk!, '--partition', '1']);
    assert.equal(wrong.code, 4);
    assert.match(wrong.stderr, /^btrfs-lens: not a Btrfs filesystem/);
    const none = await runCli(['ls', disk!, '--partition', '7']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no partition 7/);
  });

  it('reads a gzip-compressed image and finds its gzipped sibling devices', async () => {
    const env = process.env.BTRFS_LENS_CACHE;
    process.env.BTRFS_LENS_CACHE = join(scratch, 'cache');
    try {
      const m = loadManifest('raid1c3');
      const fs = await open(join(FIXTURES_DIR, 'raid1c3', m.devices[0]!.file));
      try {
        for (const e of m.entries.filter((x) => x.type === 'file')) assert.equal(sha256(await fs.readFile(e.path)), e.sha256, e.path);
      } finally {
        await fs.close();
      }
    } finally {
      if (env === undefined) delete process.env.BTRFS_LENS_CACHE;
      else process.env.BTRFS_LENS_CACHE = env;
    }
  });

  it('takes the other members with --device when they are not beside the first', async () => {
    const m = loadManifest('raid10');
    const images = await fixtureImages('raid10');
    const dir = join(scratch, 'raid10-apart');
    await rm(dir, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
    const first = join(dir, 'first.img');
    await copyFile(images[0]!, first);
    const file = m.entries.find((e) => e.path === '/text-1m')!;
    const alone = await runCli(['cat', first, '/text-1m']);
    assert.notEqual(alone.code, 0);
    assert.match(alone.stderr, /devid \d+ uuid [0-9a-f-]{36}.*missing/);
    const args = ['cat', first, '/text-1m', ...images.slice(1).flatMap((p) => ['--device', p])];
    const together = await runCli(args);
    assert.equal(together.code, 0, together.stderr);
    assert.equal(sha256(together.stdout), file.sha256);
  });

  it('says plainly when a file is not Btrfs, is truncated, or a path does not exist', async () => {
    const zeros = join(scratch, 'zeros.img');
    await writeFile(zeros, Buffer.alloc(1 << 20));
    const notBtrfs = await runCli(['info', zeros]);
    assert.equal(notBtrfs.code, 4);
    assert.match(notBtrfs.stderr, /^btrfs-lens: not a Btrfs filesystem.*\n$/);

    const [basic] = await fixtureImages('basic');
    const truncated = join(scratch, 'truncated.img');
    const src = await openFile(basic!, 'r');
    const head = Buffer.alloc(8 << 20);
    await src.read(head, 0, head.length, 0);
    await src.close();
    await writeFile(truncated, head);
    const t = await runCli(['ls', '-R', truncated]);
    assert.equal(t.code, 5, t.stderr);
    assert.match(t.stderr, /^btrfs-lens: .*(runs past the end|past the end of the device).*image truncated\?/);
    assert.equal(t.stderr.trim().split('\n').length, 1);

    const missing = await runCli(['cat', basic!, '/no/such/file']);
    assert.equal(missing.code, 3);
    assert.equal(missing.stderr, `btrfs-lens: ${basic}: ENOENT: no such file or directory, open '/no/such/file'\n`);
    const notDir = await runCli(['ls', basic!, '/empty-file/x']);
    assert.equal(notDir.code, 3);
    assert.match(notDir.stderr, /ENOTDIR/);
  });

  it('refuses a data sector whose checksum does not match, naming file, offset, logical address and both sums', async () => {
    const [basic] = await fixtureImages('basic');
    const damaged = join(scratch, 'damaged.img');
    await copyFile(basic!, damaged);
    const fs = await open(damaged);
    const { extents } = await extentMap(fs, '/extents/regular-1m');
    await fs.close();
    const x = extents.find((e) => e.kind === 'regular' && e.compression === 'none')!;
    const run = x.copies[0]![0]!;
    // Flip one byte in the second sector of the extent's only copy (data is SINGLE in this image).
    const h = await openFile(damaged, 'r+');
    const b = Buffer.alloc(1);
    const at = Number(run.physical) + 4096 + 100;
    await h.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await h.write(b, 0, 1, at);
    await h.close();
    const r = await runCli(['cat', damaged, '/extents/regular-1m']);
    assert.equal(r.code, 4);
    const fileOffset = x.fileOffset + 4096n - x.extentOffset;
    assert.match(r.stderr, new RegExp(`^btrfs-lens: data checksum mismatch, have [0-9a-f]{8} expect [0-9a-f]{8}: path=/extents/regular-1m file_offset=${fileOffset} logical=${x.logical! + 4096n} mirror=0\\n$`));
  });

  it('prints --help for every command', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    const names = [...top.stdout.toString().matchAll(/^ {2}btrfs-lens ([a-z-]+)/gm)].map((m) => m[1]!);
    assert.ok(names.length >= 7, top.stdout.toString());
    for (const n of names) {
      const r = await runCli([n, '--help']);
      assert.equal(r.code, 0, `${n} --help: ${r.stderr}`);
      assert.match(r.stdout.toString(), new RegExp(`btrfs-lens ${n}`));
    }
  });
});

describe('adler32', () => {
  it('equals the Adler-32 zlib writes in a stream trailer, at every length around the 8-byte steps and NMAX', () => {
    for (const n of [0, 1, 7, 8, 9, 15, 16, 5551, 5552, 5553, 5560, 32768, 65537]) {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 2654435761) >>> 24;
      const z = deflateSync(data, { level: 0 });
      assert.equal(adler32(data), z.readUInt32BE(z.length - 4), `length ${n}`);
      // All 0xff maximizes the sums: the deferred reduction must not overflow.
      const ff = Buffer.alloc(n, 0xff);
      const zf = deflateSync(ff, { level: 0 });
      assert.equal(adler32(ff), zf.readUInt32BE(zf.length - 4), `0xff x ${n}`);
    }
  });
});
