import { catCommand } from './cat.js';
import { compsizeCommand } from './compsize.js';
import { duCommand } from './du.js';
import { checkCommand } from './check.js';
import { dumpSuperCommand } from './dump-super.js';
import { dumpTreeCommand } from './dump-tree.js';
import { emulateCommand } from './emulate.js';
import { extractCommand } from './extract.js';
import { infoCommand } from './info.js';
import { inodeResolveCommand } from './inode-resolve.js';
import { logicalResolveCommand } from './logical-resolve.js';
import { lsCommand } from './ls.js';
import { mapCommand } from './map.js';
import { sharingCommand } from './sharing.js';
import { statCommand } from './stat.js';
import { subvolumesCommand } from './subvolumes.js';

export const commands = [infoCommand, subvolumesCommand, lsCommand, statCommand, catCommand, extractCommand, mapCommand, dumpSuperCommand, dumpTreeCommand, emulateCommand, checkCommand, duCommand, compsizeCommand, logicalResolveCommand, inodeResolveCommand, sharingCommand];
