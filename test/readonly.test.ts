// Read-only, proven: every registered CLI command (and the read-through-damage variants) is run on
// copies of a single-device, a multi-device and a partitioned fixture, damaged and not, and the image
// files are byte-identical (sha256) and untouched (mtime) afterwards.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { commands } from '../cli/commands/index.js';
import { open } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { loadManifest } from './helpers/fixtures.js';
import { dataSectors, garbage, tempCopy, treeBlocks, writeAt } from './damage-helpers.js';

async function fingerprint(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `${h.digest('hex')} ${(await stat(path)).mtimeMs}`;
}

/** Arguments for one command, from its yargs usage string: positionals filled, options as needed. */
function invocations(usage: string, image: string, file: string, logical: bigint, out: string): string[][] {
  const [name, ...positionals] = usage.split(/\s+/);
  const args = [name!];
  for (const p of positionals) {
    const id = p.replace(/[<>[\]]|\.\./g, '');
    if (id === 'image') args.push(image);
    else if (id === 'logical') args.push(String(logical));
    else if (id === 'ino') args.push('257');
    else if (p.startsWith('<')) args.push(id === 'paths' || id === 'path' ? file : '/');
  }
  const extra: Record<string, string[][]> = {
    ls: [['-R'], ['-R', '--json'], ['-R', '--ignore-errors']],
    cat: [[], ['--ignore-errors']],
    extract: [['-o', join(out, 'a')], ['-o', join(out, 'b'), '--ignore-errors']],
    check: [[], ['--json']],
    'dump-tree': [[], ['--json']],
    'dump-super': [['-a']],
  };
  return (extra[name!] ?? [[]]).map((e) => [...args, ...e]);
}

describe('read-only: no command writes to an image', function () {
  this.timeout(900_000);

  for (const [name, damaged] of [['basic', false], ['raid1', true], ['gpt', false], ['raid5', true]] as const) {
    it(`${name}${damaged ? ' (with damaged copies)' : ''}: image files are byte-identical after every command`, async () => {
      const t = await tempCopy(name);
      try {
        const manifest = loadManifest(name);
        const file = manifest.entries.filter((e) => e.type === 'file').sort((a, b) => b.size - a.size)[0]!.path;
        const fs = await open(t.paths[0]!);
        let logical: bigint;
        try {
          const sectors = await dataSectors(fs, file);
          logical = sectors[0]!.logical;
          if (damaged) {
            // A bad data sector and a bad tree block copy: read paths retry and report, never repair.
            writeAt(sectors[1]!.copies[0]!.device, sectors[1]!.copies[0]!.physical, garbage(fs.filesystem.sectorsize, 1));
            const leaf = (await treeBlocks(fs.filesystem)).find((b) => b.tree === 5n)!;
            writeAt(leaf.copies[0]!.device, leaf.copies[0]!.physical + 100n, garbage(64, 2));
          }
        } finally {
          await fs.close();
        }
        const before = await Promise.all(t.paths.map(fingerprint));
        const ran: string[] = [];
        for (const c of await Promise.all(commands.map((e) => e.load()))) {
          for (const args of invocations(String(c.command), t.paths[0]!, file, logical, join(t.dir, 'out'))) {
            const r = await runCli(args);
            ran.push(`${args.join(' ')} -> ${r.code}`);
            assert.ok(r.code !== 70, `${args.join(' ')} failed inside: ${r.stderr}`);
          }
        }
        assert.ok(ran.length >= commands.length);
        assert.deepEqual(await Promise.all(t.paths.map(fingerprint)), before, ran.join('\n'));
      } finally {
        await t.cleanup();
      }
    });
  }
});
