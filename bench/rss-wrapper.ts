// Runs the CLI in this process and, at exit, reports the process's peak RSS on stderr so the bench
// can read it (Node offers no way to read a child's rusage).

const cli = process.argv[2]!;
process.argv.splice(1, 1);
process.on('exit', () => {
  process.stderr.write(`BENCH_PEAK_RSS=${process.resourceUsage().maxRSS}\n`);
});
await import(cli);
