// `btrfs-lens emulate` as a user runs it: the report's shape, the side-by-side table, and traces
// checked line by line before anything runs.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUNTER_NAMES } from '../lib/cache/counters.js';
import { parseSize } from '../lib/emulate/size.js';
import { formatTraceLine, parseTraceLine } from '../lib/emulate/trace.js';
import { runCli } from './helpers/cli.js';
import { fixtureImages, loadManifest } from './helpers/fixtures.js';

describe('emulate command', function () {
  this.timeout(300_000);
  let image = '';
  let dir = '';
  before(async () => {
    image = (await fixtureImages('snapshots'))[0]!;
    dir = mkdtempSync(join(tmpdir(), 'btrfs-lens-emulate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const trace = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  };

  it('--json: counters of both policies under `per-inode` and `logical`, snake_case, with savings', async () => {
    const r = await runCli(['emulate', image, '--workload', 'read-all', '--policy', 'both', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.toString());
    for (const policy of ['per-inode', 'logical']) assert.deepEqual(Object.keys(report[policy]).sort(), [...COUNTER_NAMES].sort());
    for (const k of ['decompressions', 'csum_sectors_verified', 'disk_bytes', 'pages_peak', 'duplicate_pages', 'refaults', 'sharing_breaks', 'invalidations']) {
      assert.equal(typeof report.logical[k], 'number', k);
    }
    assert.equal(report.workload, 'read-all');
    assert.equal(report.memory_bytes, null);
    // The snapshots fixture shares data three ways: the logical policy reads and decompresses less.
    assert.ok(report.logical.disk_bytes < report['per-inode'].disk_bytes);
    assert.ok(report.logical.decompressions < report['per-inode'].decompressions);
    assert.equal(report.logical.duplicate_pages, 0);
    assert.ok(report['per-inode'].duplicate_pages > 0);
    assert.ok(report.savings.disk_bytes > 0);
  });

  it('prints the side-by-side table with savings in percent', async () => {
    const r = await runCli(['emulate', image, '--policy', 'both', '--memory', '1M']);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /^counter\s+per-inode\s+logical\s+savings$/m);
    assert.match(text, /^disk_bytes\s+\S+ \S+\s+\S+ \S+\s+-?\d+\.\d%$/m);
    assert.match(text, /memory 1\.0 MiB \(active-inactive\)/);
    for (const name of COUNTER_NAMES) assert.match(text, new RegExp(`^${name}\\s`, 'm'));
  });

  it('--policy picks one policy; --reclaim lru and --readahead are taken', async () => {
    const r = await runCli(['emulate', image, '--policy', 'logical', '--reclaim', 'lru', '--readahead', '32K', '--memory', '256K', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.toString());
    assert.equal(report['per-inode'], undefined);
    assert.equal(report.reclaim, 'lru');
    assert.equal(report.readahead_bytes, 32768);
    assert.equal(report.memory_bytes, 262144);
    assert.ok(report.logical.pages_peak <= 64);
    assert.ok(report.logical.evictions > 0);
  });

  it('runs a trace of every operation', async () => {
    const manifest = loadManifest('snapshots');
    assert.ok(manifest.entries.some((e) => e.path === '/vol/b'));
    const path = trace('all-ops.jsonl', [
      '{"op":"read","path":"/vol/b","offset":0,"length":65536}',
      '{"op":"mmap-read","path":"/snap-ro/b","offset":4096}',
      '{"op":"write","path":"/vol/b","offset":100,"data":"hello"}',
      '{"op":"write","path":"/vol/b","offset":8192,"length":4096}',
      '{"op":"mmap-write","path":"/vol/b","offset":20000,"data":"AAEC","encoding":"base64"}',
      '{"op":"fsync","path":"/vol/b"}',
      '{"op":"dio-read","path":"/vol/a","offset":0,"length":8192}',
      '{"op":"dio-write","path":"/vol/a","offset":4096,"data":"ff","encoding":"hex"}',
      '{"op":"dio-write","path":"/vol/a","offset":4096,"length":4096}',
      '{"op":"reflink","src":"/vol/b","dst":"/vol/copy-of-b"}',
      '{"op":"snapshot","src":"/vol","dst":"/vol-snap","readonly":true}',
      '{"op":"truncate","path":"/vol/b","size":1000}',
      '{"op":"unlink","path":"/vol/copy-of-b"}',
      '{"op":"read","path":"/vol-snap/copy-of-b","offset":0,"length":65536}',
      '{"op":"drop-caches"}',
      '',
    ]);
    const r = await runCli(['emulate', image, '--trace', path, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.toString());
    assert.equal(report.operations, 15);
    assert.ok(report.logical.writeback_pages > 0);
    assert.ok(report.logical.invalidations > 0);
    assert.equal(report.logical.dio_fallbacks, 1, 'the unaligned direct write went through the page cache');
  });

  it('rejects a bad trace line with its number before anything runs', async () => {
    // Line 1 would fail when run (no such file): the report names line 3, so nothing ran.
    const path = trace('bad.jsonl', ['{"op":"read","path":"/nope","offset":0,"length":1}', '{"op":"drop-caches"}', '{"op":"read","path":"/vol/b","offset":-1,"length":1}']);
    const r = await runCli(['emulate', image, '--trace', path]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^btrfs-lens: trace .*bad\.jsonl line 3: "offset": /);
    assert.equal(r.stdout.length, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('names the line of an operation that fails when run', async () => {
    const path = trace('enoent.jsonl', ['{"op":"drop-caches"}', '{"op":"read","path":"/nope","offset":0,"length":1}']);
    const r = await runCli(['emulate', image, '--trace', path]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 2 \(read\): ENOENT/);
    const ro = trace('erofs.jsonl', ['{"op":"write","path":"/snap-ro/b","offset":0,"length":1}']);
    const w = await runCli(['emulate', image, '--trace', ro]);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /line 1 \(write\): .*EROFS/);
  });

  it('refuses usage mistakes: both a workload and a trace, a budget below one page, a bad size', async () => {
    const t = trace('ok.jsonl', ['{"op":"drop-caches"}']);
    for (const args of [['--workload', 'read-all', '--trace', t], ['--memory', '100'], ['--memory', 'lots'], ['--readahead', '0']]) {
      const r = await runCli(['emulate', image, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.ok(r.stderr.startsWith('btrfs-lens: '), r.stderr);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
    }
  });
});

describe('trace lines', () => {
  const bad = (text: string) => {
    const r = parseTraceLine(text);
    assert.equal(typeof r, 'string', text);
    return r as string;
  };

  it('each operation with its fields', () => {
    assert.deepEqual(parseTraceLine('{"op":"read","path":"/a","offset":1,"length":2}'), { op: 'read', path: '/a', offset: 1, length: 2 });
    assert.deepEqual(parseTraceLine('{"op":"reflink","src":"/a","dst":"/b"}'), { op: 'reflink', src: '/a', dst: '/b', src_offset: 0, dst_offset: 0, length: 0 });
    assert.deepEqual(parseTraceLine('{"op":"snapshot","src":"/","dst":"/s"}'), { op: 'snapshot', src: '/', dst: '/s', readonly: false });
    const w = parseTraceLine('{"op":"write","path":"/a","offset":0,"data":"6869","encoding":"hex"}');
    assert.deepEqual(w, { op: 'write', path: '/a', offset: 0, length: 2, data: Buffer.from('hi') });
    assert.deepEqual(parseTraceLine(formatTraceLine(w as never)), w);
    assert.deepEqual(parseTraceLine('{"op":"drop-caches"}'), { op: 'drop-caches' });
  });

  it('says what is wrong', () => {
    assert.match(bad('{"op":"read","path":"/a","offset":1}'), /"length"/);
    assert.match(bad('{"op":"fly","path":"/a"}'), /op/);
    assert.match(bad('{"op":"read","path":"/a","offset":1,"length":2,"extra":1}'), /extra/);
    assert.match(bad('{"op":"read","path":"/a","offset":"1","length":2}'), /"offset"/);
    assert.match(bad('{"op":"write","path":"/a","offset":0}'), /"length" or "data"/);
    assert.match(bad('{"op":"write","path":"/a","offset":0,"length":3,"data":"ab"}'), /holds 2 bytes/);
    assert.match(bad('{"op":"write","path":"/a","offset":0,"data":"a!","encoding":"base64"}'), /base64/);
    assert.match(bad('{"op":"truncate","path":"/a","size":1.5}'), /"size"/);
    assert.match(bad('{"op":"read"'), /not JSON/);
    assert.match(bad('[1]'), /./);
  });

  it('sizes as people write them', () => {
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('64M'), 64 << 20);
    assert.equal(parseSize('1.5GiB'), 1.5 * 2 ** 30);
    assert.equal(parseSize('512k'), 512 << 10);
    assert.equal(parseSize('unlimited'), Infinity);
    assert.throws(() => parseSize('12 parsecs'), /not a size/);
  });
});
