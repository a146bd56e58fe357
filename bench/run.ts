/**
 * Benchmark entry point (`npm run bench`). Runs the core server benchmark and prints a Markdown report.
 *
 * Options: `--duration <ms>` and `--warmup <ms>` per cell, `--levels 1,8,32,256` connection counts,
 * `--idle <n>` idle connections for the memory figure, `--rounds <n>` runs per cell (the best is kept).
 */

import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { benchCore, DEFAULT_CORE_BENCH, formatCoreReport } from './core.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: String(DEFAULT_CORE_BENCH.durationMs) },
    warmup: { type: 'string', default: String(DEFAULT_CORE_BENCH.warmupMs) },
    levels: { type: 'string', default: DEFAULT_CORE_BENCH.levels.join(',') },
    idle: { type: 'string', default: String(DEFAULT_CORE_BENCH.idleConnections) },
    rounds: { type: 'string', default: String(DEFAULT_CORE_BENCH.rounds) },
  },
});

const cpu = cpus();
console.log(
  `# policyd core benchmark\n\nNode ${process.version}, ${process.platform}/${process.arch}, ` +
    `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM\n`,
);
const started = performance.now();
const report = await benchCore(
  {
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
    levels: values.levels.split(',').map(Number),
    idleConnections: Number(values.idle),
    rounds: Number(values.rounds),
  },
  (line) => console.error(line), // progress on stderr; the report below on stdout
);
console.log(`\n${formatCoreReport(report)}\n\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
