/**
 * Core server benchmark, all in one run so that ratios compare like with like. The baseline is a bare
 * codec-only server (node:net + createRequestDecoder + formatResponse, answering DUNNO: what any policy server
 * must do); createServer runs with 0 and with 5 trivial plugins; a bare node:net server that only splits on
 * "\n\n" (no codec) is measured too, as a reference line, never as the baseline. Each at several connection
 * counts; then the server processes' RSS with many idle connections.
 *
 * Every server runs in its own child process (bench/server-process.ts, bundled to plain JavaScript with
 * esbuild, as tsup does for dist/, so that Node's TypeScript loader is not in the measured memory); this
 * process only generates load.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { createRequestDecoder } from '../packages/core/src/index.ts';
import { type LoadResult, openConnections, POSTFIX_RCPT_REQUEST, pingAll, runLoad } from './load.ts';
import type { ServerKind } from './server-process.ts';

/** Options of {@link benchCore}. */
export interface CoreBenchOptions {
  /** Measured time per cell, in milliseconds. */
  readonly durationMs: number;
  /** Warm-up per cell, in milliseconds. */
  readonly warmupMs: number;
  /** Connection counts to measure. */
  readonly levels: readonly number[];
  /** Idle connections for the memory measurement. */
  readonly idleConnections: number;
  /** Each cell is measured this many times; the best run is kept (the least disturbed by other load). */
  readonly rounds: number;
}

/** One measured cell: a server variant at one connection count. */
export interface CoreBenchRow extends LoadResult {
  /** Variant label. */
  readonly variant: string;
  /** Whether this row is the baseline (codec only) or an extra reference line (net only). */
  readonly role: VariantRole;
  /** reqPerSec divided by the baseline's (codec only) at the same connection count. */
  readonly ratio: number;
  /**
   * Server process CPU time (user + system) per request, in microseconds. Unlike req/s, it hardly depends on
   * what else runs on the machine, so it is the figure to compare between runs.
   */
  readonly serverCpuUs: number;
}

/** Everything {@link benchCore} measured. */
export interface CoreBenchReport {
  /** Throughput and latency cells, by connection count then variant. */
  readonly rows: readonly CoreBenchRow[];
  /** Server RSS: the codec-only baseline, createServer with 5 plugins and the net-only reference. */
  readonly memory: readonly MemoryRow[];
  /** The idle connection count used. */
  readonly idleConnections: number;
  /** In-process CPU time to decode and normalise the benchmark's request, in µs (see {@link decodeMeter}). */
  readonly decodeUs: number;
}

/** Resident memory of one server process. */
export interface MemoryRow {
  /** Variant label. */
  readonly variant: string;
  /** RSS in bytes after start-up (listening, no connection), after a full GC. */
  readonly listening: number;
  /** RSS in bytes with the idle connections open (each answered one request first), after a full GC. */
  readonly withConnections: number;
}

/** Defaults: about 105 s in all. */
export const DEFAULT_CORE_BENCH: CoreBenchOptions = Object.freeze({
  durationMs: 1_500,
  warmupMs: 400,
  levels: Object.freeze([1, 8, 32, 256]),
  idleConnections: 1_000,
  rounds: 3,
});

/**
 * `baseline`: the row ratios are computed against; `measured`: a policyd server; `reference`: an extra line
 * for context, not part of the targets.
 */
export type VariantRole = 'baseline' | 'measured' | 'reference';

interface Variant {
  readonly label: string;
  readonly kind: ServerKind;
  readonly plugins: number;
  readonly role: VariantRole;
}

const BASELINE: Variant = { label: 'baseline: codec only', kind: 'codec', plugins: 0, role: 'baseline' };
const FIVE_PLUGINS: Variant = {
  label: 'createServer, 5 plugins',
  kind: 'core',
  plugins: 5,
  role: 'measured',
};
const NET_ONLY: Variant = {
  label: 'reference: net only, no codec',
  kind: 'net',
  plugins: 0,
  role: 'reference',
};

// The baseline comes first: ratios need it.
const VARIANTS: readonly Variant[] = Object.freeze([
  BASELINE,
  { label: 'createServer, 0 plugins', kind: 'core', plugins: 0, role: 'measured' },
  FIVE_PLUGINS,
  NET_ONLY,
]);

const SERVER_SOURCE = fileURLToPath(new URL('./server-process.ts', import.meta.url));
const SERVER_BUNDLE = fileURLToPath(
  new URL('../node_modules/.cache/policyd-bench/server.mjs', import.meta.url),
);

interface RunningServer {
  readonly child: ChildProcess;
  readonly port: number;
}

async function bundleServer(): Promise<void> {
  await build({
    entryPoints: [SERVER_SOURCE],
    outfile: SERVER_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
  });
}

async function startServer(kind: ServerKind, plugins: number): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--expose-gc', SERVER_BUNDLE, kind, String(plugins)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [{ port: number }];
  return { child, port: message.port };
}

async function serverRss(server: RunningServer): Promise<number> {
  server.child.send('rss');
  const [message] = (await once(server.child, 'message')) as [NodeJS.MemoryUsage];
  return message.rss;
}

async function serverCpu(server: RunningServer): Promise<number> {
  server.child.send('cpu');
  const [message] = (await once(server.child, 'message')) as [NodeJS.CpuUsage];
  return message.user + message.system;
}

async function stopServer(server: RunningServer): Promise<void> {
  const exited = once(server.child, 'exit');
  server.child.send('exit');
  await exited;
}

/**
 * Run the core benchmark. At each connection count the variants are measured one after another (rather than
 * one variant at all counts), in rounds, so that background noise affects the ratios as little as possible.
 */
export async function benchCore(
  options: CoreBenchOptions = DEFAULT_CORE_BENCH,
  progress: (line: string) => void = () => {},
): Promise<CoreBenchReport> {
  const decode = decodeMeter();
  await bundleServer();
  const servers = await Promise.all(VARIANTS.map((v) => startServer(v.kind, v.plugins)));
  const rows: CoreBenchRow[] = [];
  try {
    for (const connections of options.levels) {
      // Rounds go round-robin over the variants, so each variant's best run comes from a different moment.
      const best: (CellResult | undefined)[] = VARIANTS.map(() => undefined);
      for (let round = 0; round < options.rounds; round++) {
        for (const [index, server] of servers.entries()) {
          const result = await measureCell(server, connections, options);
          decode.round(); // between cells, so it disturbs none of them
          if (result.reqPerSec > (best[index]?.reqPerSec ?? -1)) best[index] = result;
        }
      }
      const baseline = best[VARIANTS.indexOf(BASELINE)]!.reqPerSec;
      for (const [index, variant] of VARIANTS.entries()) {
        const cell = best[index]!;
        const row = { ...cell, variant: variant.label, role: variant.role, ratio: cell.reqPerSec / baseline };
        rows.push(row);
        progress(formatRow(row));
      }
    }
  } finally {
    await Promise.all(servers.map(stopServer));
  }
  const memory = [];
  for (const variant of [BASELINE, FIVE_PLUGINS, NET_ONLY]) {
    memory.push(await measureMemory(variant, options.idleConnections));
  }
  progress(`decode + normalise in process: ${decode.bestUs.toFixed(2)} µs CPU per request`);
  return { rows, memory, idleConnections: options.idleConnections, decodeUs: decode.bestUs };
}

/** Measures the in-process decoding cost in rounds; see {@link decodeMeter}. */
export interface DecodeMeter {
  /** Decode the request `perRound` times and keep the round if it was the cheapest so far. */
  round(): void;
  /** CPU time per request of the cheapest round so far, in microseconds. */
  readonly bestUs: number;
}

/**
 * CPU time that `RequestDecoder.push` takes for the benchmark's request (31 attributes, one request per chunk,
 * as Postfix sends it), normalisation included, measured with `process.cpuUsage` so that time this process
 * was not running does not count. The caller spreads the rounds over the run (the benchmark takes one after
 * each cell) and the cheapest is kept: on a shared machine, a whole burst of rounds can land in a busy
 * moment. The first rounds warm the JIT up and are not counted.
 */
export function decodeMeter(perRound = 20_000): DecodeMeter {
  const decoder = createRequestDecoder();
  const chunk = Buffer.from(POSTFIX_RCPT_REQUEST, 'latin1');
  let best = Infinity;
  const round = (): number => {
    const before = process.cpuUsage();
    let decoded = 0;
    for (let i = 0; i < perRound; i++) decoded += decoder.push(chunk).requests.length;
    const used = process.cpuUsage(before);
    if (decoded !== perRound) throw new Error('the decoder lost requests');
    return (used.user + used.system) / perRound;
  };
  for (let i = 0; i < 5; i++) round();
  return {
    round() {
      best = Math.min(best, round());
    },
    get bestUs() {
      return best;
    },
  };
}

type CellResult = LoadResult & { readonly serverCpuUs: number };

async function measureCell(
  server: RunningServer,
  connections: number,
  options: CoreBenchOptions,
): Promise<CellResult> {
  const cpuBefore = await serverCpu(server);
  const result = await runLoad({
    target: { host: '127.0.0.1', port: server.port },
    connections,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
  });
  return { ...result, serverCpuUs: ((await serverCpu(server)) - cpuBefore) / result.totalRequests };
}

// RSS of a fresh server process, listening and then with `count` idle connections that each had one request.
async function measureMemory(variant: Variant, count: number): Promise<MemoryRow> {
  const server = await startServer(variant.kind, variant.plugins);
  try {
    const listening = await serverRss(server);
    const sockets = await openConnections({ host: '127.0.0.1', port: server.port }, count);
    await pingAll(sockets);
    const withConnections = await serverRss(server);
    for (const socket of sockets) socket.destroy();
    return { variant: variant.label, listening, withConnections };
  } finally {
    await stopServer(server);
  }
}

const MB = 1024 * 1024;

function formatRow(row: CoreBenchRow): string {
  const ratio = `${(row.ratio * 100).toFixed(1)} %`;
  return (
    `| ${row.variant} | ${row.connections} | ${Math.round(row.reqPerSec)} | ${row.p50Ms.toFixed(3)} | ` +
    `${row.p99Ms.toFixed(3)} | ${row.role === 'reference' ? `(${ratio})` : ratio} | ${row.serverCpuUs.toFixed(1)} |`
  );
}

/** The report as Markdown: the table, the memory figures and the targets met or missed. */
export function formatCoreReport(report: CoreBenchReport): string {
  const target = report.rows.find((r) => r.variant === FIVE_PLUGINS.label && r.connections === 32);
  const base = report.rows.find((r) => r.role === 'baseline' && r.connections === 32);
  const core = report.memory.find((m) => m.variant === FIVE_PLUGINS.label)!;
  const rssMb = core.withConnections / MB;
  const lines = [
    '| server | connections | req/s | p50 ms | p99 ms | vs baseline (codec only) | server CPU µs/req |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...report.rows.map(formatRow),
    '',
    `| server process | RSS listening | RSS with ${report.idleConnections} idle connections | per connection |`,
    '|---|---:|---:|---:|',
    ...report.memory.map(
      (m) =>
        `| ${m.variant} | ${(m.listening / MB).toFixed(1)} MB | ${(m.withConnections / MB).toFixed(1)} MB | ` +
        `${((m.withConnections - m.listening) / report.idleConnections / 1024).toFixed(1)} KB |`,
    ),
    '',
    'The baseline is the codec-only server; the net-only line is a reference (its ratio in parentheses).',
    `Decoding and normalising the request in process: ${report.decodeUs.toFixed(2)} µs CPU per request.`,
    '',
    'Targets (createServer with 5 plugins against the codec-only baseline):',
  ];
  if (target !== undefined && base !== undefined) {
    const ratio = `${(target.ratio * 100).toFixed(1)} %`;
    // What the ratio would be if the server process alone set the pace: less sensitive to other load.
    const cpuRatio = `${((base.serverCpuUs / target.serverCpuUs) * 100).toFixed(1)} %`;
    lines.push(
      `- 5 plugins at 32 connections ≥ 80 % of the baseline's req/s: ${ratio} — ${target.ratio >= 0.8 ? 'met' : 'MISSED'} ` +
        `(by server CPU per request: ${cpuRatio})`,
      `- 5 plugins at 32 connections p99 ≤ 5 ms: ${target.p99Ms.toFixed(3)} ms — ${target.p99Ms <= 5 ? 'met' : 'MISSED'}`,
    );
  }
  lines.push(
    `- createServer RSS < 100 MB at ${report.idleConnections} idle connections: ${rssMb.toFixed(1)} MB — ${rssMb < 100 ? 'met' : 'MISSED'}`,
  );
  return lines.join('\n');
}

// `npx node bench/core.ts [options]`: the core benchmark alone, with the options of bench/run.ts.
if (import.meta.main) {
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
    (line) => console.error(line), // progress on stderr; the report on stdout
  );
  console.log(`\n${formatCoreReport(report)}\n\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
