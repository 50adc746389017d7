// The fuzzing child process: applies one mutation at a time to its private copies, exercises it, and
// reports. It runs apart from the runner so that a hang can be killed and a crash (an uncaught error,
// running out of memory) is seen from outside, while the worker itself is reused between mutants.

import { fixtureImages } from '../helpers/fixtures.js';
import { CONTAINER_PREFIX, containerImages } from './container-corpus.js';
import { Workspace, type Mutation } from './mutation.js';
import { exercise, exerciseCli, type Finding } from './target.js';

export type ToWorker = { type: 'run'; id: number; mutation: Mutation; cli?: boolean };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; steps: Record<string, string>; findings: Finding[]; ms: number }
  | { type: 'crash'; id: number | undefined; finding: Finding };

const send = (m: FromWorker) => process.send!(m);
let current: number | undefined;

function crash(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ type: 'crash', id: current, finding: { step: 'process', name: err.name, message: err.message, stack: (err.stack ?? '').split('\n').slice(0, 12).join('\n') } });
  setTimeout(() => process.exit(70), 50);
}

process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

// The folder is the runner's choice (argv[2]), and the runner removes it when this process exits.
const scratch = process.argv[2];
if (!scratch) throw new Error('fuzz worker: no scratch folder given');
const workspace = new Workspace(scratch, (f) => (f.startsWith(CONTAINER_PREFIX) ? containerImages(f) : fixtureImages(f)));
process.on('exit', () => workspace.close());
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));

process.on('message', (msg: ToWorker) => {
  if (msg.type !== 'run') return;
  void (async () => {
    current = msg.id;
    const start = Date.now();
    const applied = await workspace.apply(msg.mutation);
    const { undo } = applied;
    // A container's other files (segments, extents, backing files) are found beside the one opened.
    const paths = msg.mutation.fixture.startsWith(CONTAINER_PREFIX) ? applied.paths.slice(0, 1) : applied.paths;
    try {
      const outcome = await exercise(paths);
      if (msg.cli) outcome.findings.push(...exerciseCli(paths));
      send({ type: 'result', id: msg.id, steps: outcome.steps, findings: outcome.findings, ms: Date.now() - start });
    } finally {
      undo();
      current = undefined;
    }
  })().catch(crash);
});

send({ type: 'ready' });
