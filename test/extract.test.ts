// extract --xattrs: every xattr the kernel showed comes back on the extracted file, or extract names
// the file it could not restore it on (the destination filesystem's limits are not ours) and exits 1.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { fixtureImages, loadManifest } from './helpers/fixtures.js';

const hasSetfattr = spawnSync('setfattr', ['--version']).status === 0;

describe('extract --xattrs', function () {
  this.timeout(300_000);
  it('restores every xattr of the basic fixture\'s /xattrs, or reports the one it could not', async function () {
    if (!hasSetfattr) this.skip();
    const m = loadManifest('basic');
    const [image] = await fixtureImages('basic');
    const out = await mkdtemp(join(tmpdir(), 'btrfs-lens-xattrs-'));
    try {
      const r = await runCli(['extract', image!, '/xattrs', '-o', out, '--xattrs']);
      const asRoot = process.getuid?.() === 0;
      let checked = 0;
      let reported = 0;
      for (const e of m.entries.filter((x) => x.path.startsWith('/xattrs/') && x.type !== 'symlink')) {
        const dest = join(out, e.path.slice('/xattrs/'.length));
        for (const [name, value] of Object.entries(e.xattrs)) {
          if (!asRoot && !name.startsWith('user.')) continue;
          const got = spawnSync('getfattr', ['-h', '--absolute-names', '-e', 'base64', '-n', name, dest], { encoding: 'utf8' });
          const line = got.stdout.split('\n').find((l) => l.startsWith(`${name}=`));
          const restored = line === undefined ? undefined : Buffer.from(line.slice(name.length + 1).replace(/^0s/, '').replace(/^"(.*)"$/, '$1'), line.includes('=0s') ? 'base64' : 'utf8');
          if (restored && restored.equals(Buffer.from(value, 'base64'))) checked++;
          else {
            assert.match(r.stderr, new RegExp(`xattr not restored: .*${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${e.path} ${name} neither restored nor reported`);
            reported++;
          }
        }
      }
      assert.ok(checked > 0);
      assert.equal(r.code, reported ? 1 : 0, r.stderr);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
