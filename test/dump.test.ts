// dump-super and dump-tree against btrfs-progs 6.2 itself: for every fixture, the outputs progs printed
// for the committed images (fixtures/<name>/dump-super.txt, dump-tree.txt.gz, and everything
// fixtures/record-progs-dumps.sh listed in progs/index.tsv) must be reproduced byte for byte. Options go
// through the CLI's own yargs builders, so the option handling is what users get.

// progs prints local times; the recordings were made with TZ=UTC. Set before anything formats a date.
process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import yargs, { type Argv } from 'yargs';
import { dumpSuperBuilder, dumpSuperOptions, type DumpSuperArgs } from '../cli/commands/dump-super.js';
import { dumpTreeBuilder, dumpTreeOptions, type DumpTreeArgs } from '../cli/commands/dump-tree.js';
import {
  DocumentSink, dumpSuper, dumpSuperDocumentSchema, dumpTree, dumpTreeDocumentSchema, JsonSink, renderDumpSuper, renderDumpTree, TextSink,
  type DumpSuperOptions, type DumpTreeOptions,
} from '../lib/dump/index.js';
import { Filesystem } from '../lib/fs/filesystem.js';
import { openFilesystemSource } from '../lib/io/devices.js';
import { CRAFT_BASE_FIXTURE, craftImage } from './dump-craft.js';
import { FIXTURES_DIR, fixtureImages, fixtureNames } from './helpers/fixtures.js';

interface Recorded {
  file: string;
  tool: 'dump-super' | 'dump-tree';
  args: string[];
}

function recorded(name: string, list = 'index.tsv'): Recorded[] {
  const index = path.join(FIXTURES_DIR, name, 'progs', list);
  if (!fs.existsSync(index)) return [];
  return fs
    .readFileSync(index, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [file, tool, args] = line.split('\t');
      return { file: file!, tool: tool as Recorded['tool'], args: args ? args.split(' ') : [] };
    });
}

function golden(name: string, file: string): string {
  const raw = fs.readFileSync(path.join(FIXTURES_DIR, name, file));
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('latin1');
}

/** The parsed command line, through the command's own builder (no handler runs). */
function parseArgs<T>(command: string, builder: (y: Argv) => Argv, args: string[]): T {
  let parsed: T | undefined;
  yargs()
    .command({ command: `${command} <image> [more..]`, builder: (y) => builder(y) as never, handler: (a) => { parsed = a as T; } })
    .strict()
    .fail((msg, err) => { throw err ?? new Error(msg); })
    .parseSync([command, 'IMAGE', ...args]);
  assert.ok(parsed, `${command} ${args.join(' ')} did not parse`);
  return parsed;
}

/** The device names progs was given are in the heading of each superblock; ours are the cache paths. */
function sameDevices(text: string): string {
  return text.replace(/^(superblock: bytenr=\d+, device=).*$/gm, '$1<device>');
}

/** Equal, or an assertion showing the first differing lines with some context on both sides. */
function assertSameText(ours: string, theirs: string, what: string): void {
  if (ours === theirs) return;
  const a = ours.split('\n');
  const b = theirs.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (lines: string[]) => lines.slice(Math.max(0, i - 3), i + 4).map((l, k) => `${String(Math.max(0, i - 3) + k + 1).padStart(6)}  ${JSON.stringify(l)}`).join('\n');
  assert.fail(`${what}: first difference at line ${i + 1} (ours ${a.length} lines, progs ${b.length})\n--- btrfs-lens\n${show(a)}\n--- btrfs-progs 6.2\n${show(b)}`);
}

async function treeText(f: Filesystem, opts: DumpTreeOptions): Promise<string> {
  const chunks: string[] = [];
  const sink = new TextSink(f.sectorsize, (s) => void chunks.push(s), () => undefined);
  await sink.start();
  await dumpTree(f, opts, sink);
  return chunks.join('');
}

async function superText(images: string[], opts: DumpSuperOptions): Promise<string> {
  const devices = [];
  try {
    for (const image of images) devices.push({ name: path.basename(image), source: await openFilesystemSource(image) });
    return renderDumpSuper(await dumpSuper(devices, opts)).stdout;
  } finally {
    await Promise.all(devices.map((d) => d.source.close()));
  }
}

for (const name of fixtureNames()) {
  describe(`dump: ${name}`, function () {
    let images: string[];
    let f: Filesystem;

    before(async () => {
      images = await fixtureImages(name);
      f = await Filesystem.open(images, { scanFolder: false });
    });
    after(async () => {
      await f?.close();
    });

    it('dump-tree matches dump-tree.txt.gz', async () => {
      assertSameText(await treeText(f, {}), golden(name, 'dump-tree.txt.gz'), `${name} dump-tree`);
    });

    it('dump-super -f -a (first device) matches dump-super.txt', async () => {
      const ours = await superText(images.slice(0, 1), { full: true, all: true });
      assertSameText(sameDevices(ours), sameDevices(golden(name, 'dump-super.txt')), `${name} dump-super -f -a`);
    });

    it('dump-tree --json follows the schema and renders to the same text', async () => {
      let json = '';
      const sink = new JsonSink(f.sectorsize, (s) => { json += s; });
      await sink.start();
      await dumpTree(f, {}, sink);
      await sink.end();
      const doc = dumpTreeDocumentSchema.parse(JSON.parse(json));
      assertSameText(renderDumpTree(doc).stdout, golden(name, 'dump-tree.txt.gz'), `${name} dump-tree --json rendered`);
      // The in-memory document is the same document.
      const mem = new DocumentSink(f.sectorsize);
      await dumpTree(f, {}, mem);
      assert.deepEqual(mem.doc, doc);
    });

    it('dump-super --json follows the schema and renders to the same text', async () => {
      const devices = [{ name: path.basename(images[0]!), source: await openFilesystemSource(images[0]!) }];
      try {
        const doc = await dumpSuper(devices, { full: true, all: true });
        const parsed = dumpSuperDocumentSchema.parse(JSON.parse(JSON.stringify(doc)));
        assertSameText(sameDevices(renderDumpSuper(parsed).stdout), sameDevices(golden(name, 'dump-super.txt')), `${name} dump-super --json rendered`);
      } finally {
        await devices[0]!.source.close();
      }
    });

    const runs = recorded(name);
    it('has recorded progs outputs for the other options', () => {
      assert.ok(runs.length > 0, `fixtures/${name}/progs/index.tsv is missing: run fixtures/record-progs-dumps.sh ${name}`);
    });
    for (const run of runs) {
      it(`${run.tool} ${run.args.join(' ')} matches progs/${run.file}`, async () => {
        const theirs = golden(name, path.join('progs', run.file));
        if (run.tool === 'dump-tree') {
          const opts = dumpTreeOptions(parseArgs<DumpTreeArgs>('dump-tree', dumpTreeBuilder, run.args), run.args);
          assertSameText(await treeText(f, opts), theirs, `${name} dump-tree ${run.args.join(' ')}`);
        } else {
          const opts = dumpSuperOptions(parseArgs<DumpSuperArgs>('dump-super', dumpSuperBuilder, run.args), run.args);
          assertSameText(sameDevices(await superText(images, opts)), sameDevices(theirs), `${name} dump-super ${run.args.join(' ')}`);
        }
      });
    }
  });
}

describe('dump: crafted leaf of the item types no fixture has', function () {
  let work: string;
  let f: Filesystem;
  const runs = recorded(CRAFT_BASE_FIXTURE, 'crafted.tsv');

  before(async () => {
    const [base] = await fixtureImages(CRAFT_BASE_FIXTURE);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-lens-craft-'));
    const image = path.join(work, 'crafted.img');
    await craftImage(base!, image);
    f = await Filesystem.open([image], { scanFolder: false });
  });
  after(async () => {
    await f?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('has recorded progs outputs', () => {
    assert.ok(runs.length > 0, `fixtures/${CRAFT_BASE_FIXTURE}/progs/crafted.tsv is missing: run fixtures/record-progs-dumps.sh ${CRAFT_BASE_FIXTURE}`);
  });
  for (const run of runs) {
    it(`${run.tool} ${run.args.join(' ')} matches progs/${run.file}`, async () => {
      const opts = dumpTreeOptions(parseArgs<DumpTreeArgs>('dump-tree', dumpTreeBuilder, run.args), run.args);
      const theirs = golden(CRAFT_BASE_FIXTURE, path.join('progs', run.file));
      assertSameText(await treeText(f, opts), theirs, `crafted dump-tree ${run.args.join(' ')}`);
      // Every body the crafted leaf holds passes the schema and renders back to the same text.
      const mem = new DocumentSink(f.sectorsize);
      await dumpTree(f, opts, mem);
      const doc = dumpTreeDocumentSchema.parse(JSON.parse(JSON.stringify(mem.doc)));
      assertSameText(renderDumpTree(doc).stdout, theirs, `crafted dump-tree --json ${run.args.join(' ')} rendered`);
    });
  }
});
