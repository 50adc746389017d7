// Long commands draw a progress line on a terminal and nothing when their output goes to a file or
// a pipe (scripts parse stderr). `script` gives the command a real pseudo-terminal.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli } from './helpers/cli.js';
import { fixtureImages } from './helpers/fixtures.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Everything the terminal received (stdout and stderr together), and the exit code. */
function onTerminal(args: string[]): { code: number; screen: string } {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, screen: r.stdout };
}

describe('progress on a terminal', function () {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  let image: string;
  let out: string;
  before(async function () {
    if (!hasScript) throw new Error('`script` (util-linux) is needed to give a command a terminal');
    image = (await fixtureImages('basic'))[0]!;
    out = mkdtempSync(join(tmpdir(), 'btrfs-lens-progress-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('check: a progress line on the terminal, erased before the summary; none in a pipe', async () => {
    const t = onTerminal(['check', image]);
    assert.equal(t.code, 0, t.screen);
    assert.match(t.screen, /\rcheck: \d+ tree blocks, \d+ data sectors/);
    assert.match(t.screen, /\r\x1b\[Kchecked .*no problems/);
    const piped = await runCli(['check', image]);
    assert.equal(piped.code, 0);
    assert.equal(piped.stderr, '');
  });

  for (const [args, shows] of [
    [['du', '-s'], /\rdu: \.: \d+ files and directories/],
    [['compsize'], /\rcompsize: \d+ files and directories/],
    [['sharing'], /\rsharing: \d+ data extents, \d+ files/],
    [['emulate', '--workload', 'read-all'], /\remulate: \d+ operations/],
  ] as const) {
    it(`${args[0]}: what it has counted so far on the terminal; none in a pipe`, async () => {
      const t = onTerminal([args[0], image, ...args.slice(1)]);
      assert.equal(t.code, 0, t.screen);
      assert.match(t.screen, shows);
      const piped = await runCli([args[0], image, ...args.slice(1)]);
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stderr, '');
    });
  }

  it('extract: files and bytes so far on the terminal; none in a pipe', async () => {
    const t = onTerminal(['extract', image, '/extents', '-o', join(out, 'tty')]);
    assert.equal(t.code, 0, t.screen);
    assert.match(t.screen, /\rextract: \d+ files, /);
    const piped = await runCli(['extract', image, '/extents', '-o', join(out, 'pipe')]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, '');
  });
});
