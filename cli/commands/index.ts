// The command table. Each command's module (and the library it pulls in, zod schemas included) is
// imported only when that command runs: loading all sixteen cost a third of a second on every start.

import type { CommandModule } from 'yargs';

export interface CommandEntry {
  name: string;
  load(): Promise<CommandModule<object, never>>;
}

// Each module's command has its own argument type; the parser only needs the module shape.
const entry = (name: string, load: () => Promise<unknown>): CommandEntry => ({ name, load: load as CommandEntry['load'] });

/** In the order `--help` lists them. */
export const commands: CommandEntry[] = [
  entry('info', async () => (await import('./info.js')).infoCommand),
  entry('subvolumes', async () => (await import('./subvolumes.js')).subvolumesCommand),
  entry('ls', async () => (await import('./ls.js')).lsCommand),
  entry('stat', async () => (await import('./stat.js')).statCommand),
  entry('cat', async () => (await import('./cat.js')).catCommand),
  entry('extract', async () => (await import('./extract.js')).extractCommand),
  entry('map', async () => (await import('./map.js')).mapCommand),
  entry('dump-super', async () => (await import('./dump-super.js')).dumpSuperCommand),
  entry('dump-tree', async () => (await import('./dump-tree.js')).dumpTreeCommand),
  entry('emulate', async () => (await import('./emulate.js')).emulateCommand),
  entry('check', async () => (await import('./check.js')).checkCommand),
  entry('du', async () => (await import('./du.js')).duCommand),
  entry('compsize', async () => (await import('./compsize.js')).compsizeCommand),
  entry('logical-resolve', async () => (await import('./logical-resolve.js')).logicalResolveCommand),
  entry('inode-resolve', async () => (await import('./inode-resolve.js')).inodeResolveCommand),
  entry('sharing', async () => (await import('./sharing.js')).sharingCommand),
  entry('verify-image', async () => (await import('./verify-image.js')).verifyImageCommand),
];
