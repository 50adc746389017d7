#!/usr/bin/env node
// btrfs-lens: the command line. Each command lives in cli/commands/ and only calls the library's
// public entry points; this file wires them up and turns every failure into one line and an exit code.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError, EXIT, exitCodeFor } from './common.js';
import { commands } from './commands/index.js';

let debug = process.argv.includes('--debug');

async function main(): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    // `btrfs-lens cat img f | head` closes the pipe early: that is not an error worth a message.
    if (e.code === 'EPIPE') process.exit(EXIT.OK);
    throw e;
  });
  let parser = yargs(hideBin(process.argv))
    .scriptName('btrfs-lens')
    .usage('$0 <command> IMAGE [options]\n\nRead-only Btrfs image inspector and read-path emulator.')
    .option('json', { type: 'boolean', describe: 'machine-readable output' })
    .option('debug', { type: 'boolean', describe: 'show stack traces on errors' })
    .option('strict', { type: 'boolean', describe: 'exit 1 when damage was read around (a bad copy, a missing device, a cut-short image), not only warn' })
    .strict()
    .demandCommand(1, 'give a command; see --help')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`btrfs-lens: ${msg}\nTry 'btrfs-lens --help'.\n`);
      process.exit(EXIT.USAGE);
    });
  // Only the command being run is loaded; anything else (no command, --help, a typo to suggest a
  // command for) loads them all. The command is the first word that is not an option: no global
  // option takes a value.
  const first = hideBin(process.argv).find((a) => !a.startsWith('-'));
  const chosen = commands.filter((c) => c.name === first);
  for (const c of await Promise.all((chosen.length ? chosen : commands).map((c) => c.load()))) parser = parser.command(c as never);
  await parser.parseAsync();
}

main().catch((e: unknown) => {
  process.stderr.write(`btrfs-lens: ${describeError(e)}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = exitCodeFor(e);
});
