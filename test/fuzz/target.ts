// What every mutant goes through: open, a full walk (stat, readlink, xattrs of every entry), a read of
// every file, the subvolume list, the same walk and reads through damage (--ignore-errors), and check.
// Any library error is a fine outcome; anything else (a RangeError, a TypeError, an assertion of ours)
// is a finding. Reads are bounded per file and in total, so a file whose size claims exabytes costs a
// few reads, not the run.

import { spawnSync } from 'node:child_process';
import { BtrfsError } from '../../lib/errors.js';
import { checkImage } from '../../lib/check/index.js';
import { Salvager } from '../../lib/reader/salvage.js';
import { walk } from '../../lib/fs/walk.js';
import { open, type Btrfs } from '../../lib/index.js';
import { CLI } from '../helpers/cli.js';

export interface Finding {
  step: string;
  name: string;
  message: string;
  stack: string;
}

export interface Outcome {
  /** Per step: 'ok' or the library error code it ended with. */
  steps: Record<string, string>;
  findings: Finding[];
  entries: number;
  bytesRead: number;
}

const MAX_ENTRIES = 20_000;
const READ_HEAD = 2 * 1024 * 1024;
const READ_TAIL = 256 * 1024;
const MAX_BYTES = 64 * 1024 * 1024;

function finding(step: string, e: unknown): Finding {
  const err = e instanceof Error ? e : new Error(String(e));
  return { step, name: err.name, message: err.message, stack: (err.stack ?? '').split('\n').slice(0, 12).join('\n') };
}

export async function exercise(paths: string[]): Promise<Outcome> {
  const out: Outcome = { steps: {}, findings: [], entries: 0, bytesRead: 0 };
  /** Run a step; a library error ends it (recorded by code), anything else is a finding. */
  const step = async (name: string, body: () => Promise<void>): Promise<boolean> => {
    try {
      await body();
      out.steps[name] ??= 'ok';
      return true;
    } catch (e) {
      if (e instanceof BtrfsError) out.steps[name] = e.code;
      else out.findings.push(finding(name, e));
      return false;
    }
  };
  let fs: Btrfs | undefined;
  await step('open', async () => {
    fs = await open(paths[0]!);
  });
  if (fs) {
    const f = fs;
    try {
      await step('subvolumes', async () => {
        await f.subvolumes();
      });
      await step('walk', async () => {
        for await (const e of walk(f, '/', { follow: false })) {
          if (++out.entries > MAX_ENTRIES) break;
          // Per-entry work may fail on its own; the walk goes on to the next entry.
          await step('entry', async () => {
            await f.xattrsNode(e.node);
            if (e.kind === 'symlink') await f.readlinkNode(e.node);
            if (e.kind !== 'file' || out.bytesRead > MAX_BYTES) return;
            const file = await f.fileRef(e.node, e.path);
            const head = file.size < BigInt(READ_HEAD) ? Number(file.size) : READ_HEAD;
            out.bytesRead += await f.reader.read(file, 0n, Buffer.alloc(head));
            if (file.size > BigInt(READ_HEAD + READ_TAIL)) out.bytesRead += await f.reader.read(file, file.size - BigInt(READ_TAIL), Buffer.alloc(READ_TAIL));
          });
        }
      });
      // Read through damage as --ignore-errors does: problems reported, never thrown.
      let salvaged = 0;
      await step('salvage', async () => {
        const salvager = new Salvager(f.reader);
        for await (const e of walk(f, '/', { follow: false, onError: () => undefined })) {
          if (++salvaged > MAX_ENTRIES) break;
          if (e.kind !== 'file' || out.bytesRead > MAX_BYTES) continue;
          const file = await f.fileRef(e.node, e.path);
          const head = file.size < BigInt(READ_HEAD) ? Number(file.size) : READ_HEAD;
          out.bytesRead += await salvager.read(file, 0n, Buffer.alloc(head));
        }
      });
    } finally {
      await step('close', async () => {
        await f.close();
      });
    }
  }
  await step('check', async () => {
    await checkImage(paths);
  });
  return out;
}

/** CLI runs that must end on their own well before the watchdog fires. */
const CLI_TIMEOUT_MS = 20_000;

/**
 * The commands as a user runs them: each must end with one of the documented exit codes, never 70
 * (an internal error) or a stack trace on stderr. Only commands whose output is bounded by the
 * image's metadata run here (extract or cat could write a forged exabyte-sized file).
 */
export function exerciseCli(paths: string[]): Finding[] {
  const out: Finding[] = [];
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { timeout: CLI_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const suspicious = (r: ReturnType<typeof run>) => r.signal !== null || r.status === 70 || /internal error|\n\s+at /.test(r.stderr?.toString() ?? '');
  for (const args of [['ls', '-R', '--json', '--ignore-errors', paths[0]!, '/'], ['check', '--json', paths[0]!], ['info', paths[0]!]]) {
    let r = run(args);
    if (suspicious(r)) {
      // Once more after a pause: in a shared checkout a rebuild may have been half-written.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
      r = run(args);
    }
    const stderr = r.stderr?.toString() ?? '';
    const step = `cli ${args[0]}`;
    // A build caught half-written (the checkout is shared) fails on import, whatever the image.
    if (/^SyntaxError: The requested module|ERR_MODULE_NOT_FOUND/m.test(stderr)) continue;
    if (r.signal) out.push({ step, name: 'hang', message: `${args.join(' ')} did not end in ${CLI_TIMEOUT_MS} ms (${r.signal})`, stack: '' });
    else if (r.status === 70 || /internal error|\n\s+at /.test(stderr)) {
      out.push({ step, name: 'cli', message: `${args[0]} exited ${r.status}: ${stderr.split('\n')[0]}`, stack: stderr.split('\n').slice(0, 12).join('\n') });
    }
  }
  return out;
}
