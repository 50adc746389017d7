// What extract restores from an image, and what it holds back unless asked: an image's metadata
// must not act on the examiner's machine. Checked on the basic fixture, whose /xattrs and /modes the
// kernel made with security.*, trusted.*, system.* and user.* xattrs and setuid/setgid bits.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { fixtureImages, loadManifest } from './helpers/fixtures.js';

const hasSetfattr = spawnSync('setfattr', ['--version']).status === 0;
const asRoot = process.getuid?.() === 0;

/** The value of xattr `name` on `path` (not following a symlink), or undefined. */
function getXattr(path: string, name: string): Buffer | undefined {
  const got = spawnSync('getfattr', ['-h', '--absolute-names', '-e', 'base64', '-n', name, path], { encoding: 'utf8' });
  const line = got.stdout.split('\n').find((l) => l.startsWith(`${name}=`));
  if (line === undefined) return undefined;
  const v = line.slice(name.length + 1);
  return v.startsWith('0s') ? Buffer.from(v.slice(2), 'base64') : Buffer.from(v.replace(/^"(.*)"$/, '$1'), 'utf8');
}

async function withOut(f: (out: string) => Promise<void>): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'btrfs-lens-extract-'));
  try {
    await f(out);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

describe('extract: what it restores', function () {
  this.timeout(300_000);
  const m = loadManifest('basic');

  it('--xattrs restores user.* only: security.*, trusted.* and ACLs from an image stay behind', async function () {
    if (!hasSetfattr) this.skip();
    const [image] = await fixtureImages('basic');
    await withOut(async (out) => {
      const r = await runCli(['extract', image!, '/xattrs', '-o', out, '--xattrs']);
      let user = 0;
      let other = 0;
      let reported = 0;
      for (const e of m.entries.filter((x) => x.path.startsWith('/xattrs/'))) {
        const dest = join(out, e.path.slice('/xattrs/'.length));
        for (const [name, value] of Object.entries(e.xattrs)) {
          const got = getXattr(dest, name);
          if (name.startsWith('user.')) {
            // Restored, or (too large for this destination) named as not restored.
            if (got?.equals(Buffer.from(value, 'base64'))) user++;
            else {
              assert.match(r.stderr, new RegExp(`xattr not restored: .*${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${e.path} ${name}`);
              reported++;
            }
          } else {
            assert.equal(got, undefined, `${e.path} ${name} was restored without being asked for`);
            other++;
          }
        }
      }
      assert.ok(user > 0 && other > 0, `${user} user.* and ${other} other xattrs checked`);
      assert.equal(r.code, reported ? 1 : 0, r.stderr);
    });
  });

  it("--xattrs-include '*' restores every xattr, or names the one the destination refused", async function () {
    if (!hasSetfattr) this.skip();
    const [image] = await fixtureImages('basic');
    await withOut(async (out) => {
      const r = await runCli(['extract', image!, '/xattrs', '-o', out, '--xattrs-include', '*']);
      let checked = 0;
      let reported = 0;
      for (const e of m.entries.filter((x) => x.path.startsWith('/xattrs/') && x.type !== 'symlink')) {
        const dest = join(out, e.path.slice('/xattrs/'.length));
        for (const [name, value] of Object.entries(e.xattrs)) {
          if (!asRoot && !name.startsWith('user.')) continue;
          const got = getXattr(dest, name);
          if (got?.equals(Buffer.from(value, 'base64'))) checked++;
          else {
            assert.match(r.stderr, new RegExp(`xattr not restored: .*${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${e.path} ${name} neither restored nor reported`);
            reported++;
          }
        }
      }
      assert.ok(checked > 0);
      assert.equal(r.code, reported ? 1 : 0, r.stderr);
    });
  });

  it('clears set-user-ID and set-group-ID bits unless --same-permissions asks for them', async () => {
    const [image] = await fixtureImages('basic');
    const modes = m.entries.filter((e) => e.path.startsWith('/modes/') && e.type !== 'symlink');
    assert.ok(modes.some((e) => e.mode & 0o6000), 'the fixture has setuid/setgid entries');
    await withOut(async (out) => {
      const plain = await runCli(['extract', image!, '/modes', '-o', join(out, 'plain')]);
      assert.equal(plain.code, 0, plain.stderr);
      const kept = await runCli(['extract', image!, '/modes', '-o', join(out, 'kept'), '--same-permissions']);
      assert.equal(kept.code, 0, kept.stderr);
      for (const e of modes) {
        const rel = e.path.slice('/modes/'.length);
        assert.equal((await lstat(join(out, 'plain', rel))).mode, e.mode & ~0o6000, `${e.path} without -p`);
        // Without root, chmod may not set setgid for a group we are not in: the kernel drops it.
        if (asRoot) assert.equal((await lstat(join(out, 'kept', rel))).mode, e.mode, `${e.path} with -p`);
      }
    });
  });

  it('creates device nodes only with --devices, and reports those it left out', async () => {
    const [image] = await fixtureImages('basic');
    const devices = m.entries.filter((e) => e.path.startsWith('/special/') && (e.type === 'chr' || e.type === 'blk'));
    assert.ok(devices.length > 0);
    await withOut(async (out) => {
      const plain = await runCli(['extract', image!, '/special', '-o', join(out, 'plain')]);
      assert.equal(plain.code, 1);
      for (const e of devices) {
        const rel = e.path.slice('/special/'.length);
        assert.equal(await lstat(join(out, 'plain', rel)).catch(() => undefined), undefined, `${e.path} created without --devices`);
        assert.match(plain.stderr, new RegExp(`${e.path}: (character|block) device not created`));
      }
      if (!asRoot) return;
      const made = await runCli(['extract', image!, '/special', '-o', join(out, 'made'), '--devices']);
      assert.equal(made.code, 0, made.stderr);
      for (const e of devices) assert.ok((await lstat(join(out, 'made', e.path.slice('/special/'.length)))).isBlockDevice() === (e.type === 'blk'));
    });
  });
});
