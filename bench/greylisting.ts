/**
 * greylisting plugin benchmark: decisions per second and latency of `greylisting` through `createPolicy`, with
 * 32 concurrent callers, on the memory stores and on SQL (SQLite always; MariaDB and PostgreSQL when
 * reachable). No sockets: this measures the plugin and its store, not the server.
 *
 * Scenarios:
 * - new triplet: every request is a triplet never seen before (a new sender), so each decision reads the
 *   context and inserts a tracking row, then defers; the tracking table grows during the run;
 * - passed client: requests come from 2 000 clients that have passed before, with random senders and
 *   recipients, so each decision reads the context and renews the client's rows (the 2-round-trip path);
 * - new triplet + SPF (memory only): like "new triplet", with the SPF bypass on and a fake in-process DNS
 *   (1 000 sender domains, a record that does not authorise the clients), to show mailauth's cost.
 *
 * Run standalone: `npx node bench/greylisting.ts [--duration 3000] [--warmup 500] [--callers 32]`. It bundles
 * itself with esbuild first (as bench/wblist.ts does), so every `@policyd/*` import comes from source. Server
 * URLs: `POLICYD_BENCH_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) and `POLICYD_BENCH_PG_URL`
 * (default `postgres://postgres@127.0.0.1:5432/test`); `off` skips one. A scratch database is created and
 * dropped on each server.
 */

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createMemoryStores,
  createPolicy,
  type DomainStore,
  type GreylistStore,
  type PolicyContext,
  type PolicyRequest,
  silentLogger,
} from '../packages/core/src/index.ts';
import { createFakeResolver, fixedClock, policyRequest } from '../packages/core/src/testing.ts';
import {
  createGreylistingAdmin,
  type GreylistingOptions,
  greylisting,
} from '../packages/plugin-greylisting/src/index.ts';
import { runBundled } from './lib/bundle.ts';
import { countingProxy } from './lib/counting-proxy.ts';
import { adminKnex, serverConnection } from './lib/server-database.ts';
import { percentile } from './lib/stats.ts';

/** Options of {@link benchGreylisting}. */
export interface GreylistingBenchOptions {
  /** Measured time per cell, in milliseconds. */
  readonly durationMs: number;
  /** Unmeasured time before it. */
  readonly warmupMs: number;
  /** Concurrent callers of `policy.evaluate`. */
  readonly callers: number;
}

/** One measured cell. */
export interface GreylistingBenchRow {
  /** Store backend. */
  readonly backend: string;
  /** Scenario. */
  readonly scenario: string;
  /** Decisions per second. */
  readonly decisionsPerSec: number;
  /** Median latency of one decision, in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile latency, in milliseconds. */
  readonly p99Ms: number;
  /** Store calls per decision (both stores). */
  readonly storeCallsPerDecision: number;
  /**
   * CPU time (user + system) of this process per decision, in microseconds: plugin, policy and, for memory
   * and SQLite, the store; not a database server's. Unlike decisions/s it hardly depends on other load.
   */
  readonly cpuUsPerDecision: number;
}

/** A backend to measure. */
export interface GreylistingBenchBackend {
  /** Label in the report. */
  readonly name: string;
  /** The greylisting store. */
  readonly greylist: GreylistStore;
  /** The domain store. */
  readonly domains: DomainStore;
  /** Release it. */
  close(): Promise<void>;
}

/** Defaults: about 30 s for memory and SQLite. */
export const DEFAULT_GREYLISTING_BENCH: GreylistingBenchOptions = Object.freeze({
  durationMs: 3_000,
  warmupMs: 500,
  callers: 32,
});

const PASSED_CLIENTS = 2_000;
const RECIPIENTS = 500;
const SPF_DOMAINS = 1_000;

const clientOf = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** Requests of a scenario: the n-th request of the run. */
type RequestSource = (n: number) => PolicyRequest;

interface Scenario {
  readonly name: string;
  readonly options: Partial<GreylistingOptions>;
  /** Prepare the store; returns the request source. */
  prepare(backend: GreylistingBenchBackend, clock: ReturnType<typeof fixedClock>): Promise<RequestSource>;
  /** Only on these backends (default all). */
  readonly only?: readonly string[];
}

const run = randomBytes(3).toString('hex');

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'new triplet',
    options: { bypassSpf: false },
    async prepare() {
      return (n) =>
        policyRequest({
          sender: `s${n}.${run}@sender${n % 97}.example`,
          recipient: `u${n % RECIPIENTS}@example.com`,
          client_address: clientOf(n % 60_000),
        });
    },
  },
  {
    name: 'passed client',
    options: { bypassSpf: false },
    async prepare(backend, clock) {
      // Make every client pass once: first attempt, 15 minutes, second attempt.
      const plugin = greylisting({ store: backend.greylist, bypassSpf: false });
      const ctx = (): PolicyContext => ({
        log: silentLogger,
        now: clock.now,
        signal: new AbortController().signal,
        session: new Map(),
      });
      const first = (i: number) =>
        policyRequest({
          sender: `first@seed.example`,
          recipient: 'u0@example.com',
          client_address: `172.16.${i >> 8}.${i & 255}`,
        });
      for (let i = 0; i < PASSED_CLIENTS; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => plugin.check(first(i + j), ctx())));
      }
      clock.advance(15 * 60_000);
      for (let i = 0; i < PASSED_CLIENTS; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => plugin.check(first(i + j), ctx())));
      }
      return (n) => {
        const i = (n * 7919) % PASSED_CLIENTS;
        return policyRequest({
          sender: `s${n % 5_000}@sender${n % 97}.example`,
          recipient: `u${n % RECIPIENTS}@example.com`,
          client_address: `172.16.${i >> 8}.${i & 255}`,
        });
      };
    },
  },
  {
    name: 'new triplet + SPF',
    only: ['memory'],
    options: {
      dns: createFakeResolver(
        Object.fromEntries(
          Array.from({ length: SPF_DOMAINS }, (_, i) => [
            `spf${i}.example`,
            { TXT: [[`v=spf1 include:_spf.spf${i}.example -all`]] },
          ]).concat(
            Array.from({ length: SPF_DOMAINS }, (_, i) => [
              `_spf.spf${i}.example`,
              { TXT: [['v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 ~all']] },
            ]),
          ),
        ),
      ),
    },
    async prepare() {
      return (n) =>
        policyRequest({
          sender: `s${n}.${run}@spf${n % SPF_DOMAINS}.example`,
          recipient: `u${n % RECIPIENTS}@example.com`,
          client_address: clientOf(n % 60_000),
        });
    },
  },
];

/** Measure one scenario on one backend. */
async function measure(
  backend: GreylistingBenchBackend,
  scenario: Scenario,
  options: GreylistingBenchOptions,
): Promise<GreylistingBenchRow> {
  const clock = fixedClock();
  const source = await scenario.prepare(backend, clock);
  const counter = { calls: 0 };
  const plugin = greylisting({
    store: countingProxy(backend.greylist, counter),
    domains: countingProxy(backend.domains, counter),
    ...scenario.options,
  });
  const policy = await createPolicy({ plugins: [plugin], onPluginError: 'skip', now: clock.now });
  let next = 0;
  let measuring = false;
  let stop = false;
  const samples: number[] = [];
  let failures = 0;
  const caller = async () => {
    for (let i = 1; !stop; i++) {
      // The memory store answers in microtasks only; yield now and then, or the timers below never fire.
      if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      const request = source(next++);
      const start = performance.now();
      const { trace } = await policy.evaluate(request);
      if (measuring) {
        samples.push(performance.now() - start);
        if (trace[0]?.outcome !== 'decided' && trace[0]?.outcome !== 'dunno') failures++;
      }
    }
  };
  const callers = Array.from({ length: options.callers }, caller);
  await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
  counter.calls = 0;
  measuring = true;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  measuring = false;
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const calls = counter.calls;
  stop = true;
  await Promise.all(callers);
  await policy.close();
  if (failures > 0) throw new Error(`${backend.name} / ${scenario.name}: ${failures} decisions failed`);
  const sorted = Float64Array.from(samples).sort();
  return {
    backend: backend.name,
    scenario: scenario.name,
    decisionsPerSec: (samples.length / elapsed) * 1000,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    storeCallsPerDecision: calls / Math.max(1, samples.length),
    cpuUsPerDecision: (cpu.user + cpu.system) / Math.max(1, samples.length),
  };
}

async function prepared(backend: GreylistingBenchBackend): Promise<GreylistingBenchBackend> {
  await createGreylistingAdmin({ store: backend.greylist }).enable();
  return backend;
}

// Loaded on use: unbundled (before the self-bundling below) it would resolve `@policyd/core` to dist/.
const storageKnex = () => import('../packages/storage-knex/src/index.ts');

/** The memory stores. */
async function memoryBackend(): Promise<GreylistingBenchBackend> {
  const stores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
  return prepared({
    name: 'memory',
    greylist: stores.greylist,
    domains: stores.domains,
    close: async () => {},
  });
}

/** A fresh SQLite file. */
async function sqliteBackend(): Promise<GreylistingBenchBackend> {
  const filename = join(tmpdir(), `policyd-bench-greylisting-${process.pid}.sqlite`);
  const { openStorage } = await storageKnex();
  const storage = await openStorage({ client: 'sqlite', filename, migrate: true });
  return prepared({
    name: 'sqlite',
    greylist: storage.greylist,
    domains: storage.domains,
    async close() {
      await storage.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
    },
  });
}

/** A scratch database on a server, or undefined when the server does not answer. */
async function serverBackend(
  client: 'mysql' | 'pg',
  env: string,
  fallback: string,
  progress: (line: string) => void,
): Promise<GreylistingBenchBackend | undefined> {
  const text = process.env[env] ?? fallback;
  if (text === 'off') return undefined;
  const url = new URL(text);
  const base = serverConnection(client, url);
  const admin = await adminKnex(client, url);
  const database = `policyd_bench_${process.pid}_${run}`;
  try {
    await admin.raw(`CREATE DATABASE ${database}`);
  } catch (err) {
    progress(`greylisting bench: ${client} skipped (${err instanceof Error ? err.message : String(err)})`);
    await admin.destroy();
    return undefined;
  }
  const { openStorage } = await storageKnex();
  const storage = await openStorage({
    client,
    iredapd: { ...base, database },
    pool: { max: 10 },
    migrate: true,
  });
  return prepared({
    name: client === 'mysql' ? 'mariadb' : 'postgres',
    greylist: storage.greylist,
    domains: storage.domains,
    async close() {
      await storage.close();
      await admin.raw(`DROP DATABASE ${database}`);
      await admin.destroy();
    },
  });
}

/** The rows as a Markdown table. */
export function formatGreylistingReport(
  rows: readonly GreylistingBenchRow[],
  options: GreylistingBenchOptions,
): string {
  const lines = [
    `${options.callers} concurrent callers, ${options.durationMs / 1000} s measured after ${options.warmupMs / 1000} s warm-up:`,
    '',
    '| store | scenario | decisions/s | p50 ms | p99 ms | store calls/decision | CPU µs/decision |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.scenario} | ${Math.round(r.decisionsPerSec)} | ${r.p50Ms.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${r.storeCallsPerDecision.toFixed(2)} | ${Math.round(r.cpuUsPerDecision)} |`,
    );
  }
  return lines.join('\n');
}

/** Run every scenario on every reachable backend. */
export async function benchGreylisting(
  options: GreylistingBenchOptions = DEFAULT_GREYLISTING_BENCH,
  progress: (line: string) => void = () => {},
): Promise<GreylistingBenchRow[]> {
  const rows: GreylistingBenchRow[] = [];
  const factories: [string, () => Promise<GreylistingBenchBackend | undefined>][] = [
    ['memory', memoryBackend],
    ['sqlite', sqliteBackend],
    [
      'mariadb',
      () => serverBackend('mysql', 'POLICYD_BENCH_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test', progress),
    ],
    [
      'postgres',
      () => serverBackend('pg', 'POLICYD_BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432/test', progress),
    ],
  ];
  for (const [name, factory] of factories) {
    for (const scenario of SCENARIOS) {
      if (scenario.only !== undefined && !scenario.only.includes(name)) continue;
      // A fresh backend per scenario, so one scenario's rows do not slow the next one down.
      const backend = await factory();
      if (backend === undefined) break;
      try {
        progress(`greylisting bench: ${backend.name} / ${scenario.name}`);
        rows.push(await measure(backend, scenario, options));
      } finally {
        await backend.close();
      }
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: String(DEFAULT_GREYLISTING_BENCH.durationMs) },
      warmup: { type: 'string', default: String(DEFAULT_GREYLISTING_BENCH.warmupMs) },
      callers: { type: 'string', default: String(DEFAULT_GREYLISTING_BENCH.callers) },
    },
  });
  const options = {
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
    callers: Number(values.callers),
  };
  const rows = await benchGreylisting(options, (line) => console.error(line));
  console.log(
    `# policyd greylisting benchmark\n\nNode ${process.version}\n\n${formatGreylistingReport(rows, options)}`,
  );
}

// Run as `.ts`: bundle first, so that the packages' own `@policyd/core` imports resolve to source like ours.
await runBundled(import.meta.url, 'greylisting', main);
