/**
 * throttle plugin benchmark: decisions per second and latency of `throttle` through `createPolicy`, with 32
 * concurrent callers, on the memory stores and on SQL (SQLite always; MariaDB and PostgreSQL when reachable).
 * No sockets: this measures the plugin and its store, not the server. Every decision is an END-OF-MESSAGE
 * request that matches settings on both sides and is counted (limits are high, so messages are admitted, as
 * most are on a real server).
 *
 * Two workloads:
 * - `spread`: 5 000 distinct messages (80 % unauthenticated from 2 000 senders to 1 000 local users, 20 %
 *   authenticated), so counters are spread over thousands of rows;
 * - `one counter`: every message from the same authenticated sender, so every decision charges the same
 *   counter and SQL stores serialise on its row (the worst case for atomic counting).
 *
 * Run standalone: `npx node bench/throttle.ts [--duration 3000] [--warmup 500] [--callers 32]`. It bundles
 * itself with esbuild first (as bench/wblist.ts does), so every `@policyd/*` import comes from source. Servers:
 * `POLICYD_BENCH_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) and `POLICYD_BENCH_PG_URL` (default
 * `postgres://postgres@127.0.0.1:5432/test`); `off` skips one. A temporary database is created and dropped.
 */

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DomainSeed, DomainStore, PolicyRequest, ThrottleStore } from '../packages/core/src/index.ts';
import { runBundled } from './lib/bundle.ts';
import { countingProxy } from './lib/counting-proxy.ts';
import { percentile } from './lib/stats.ts';

/**
 * The code under test, loaded only once this file runs bundled: a static import would load the packages'
 * `@policyd/core` imports from `node_modules` (the last build) before the bundling below could take over.
 */
async function load() {
  const [core, testing, plugin, storage, seed, knex] = await Promise.all([
    import('../packages/core/src/index.ts'),
    import('../packages/core/src/testing.ts'),
    import('../packages/plugin-throttle/src/index.ts'),
    import('../packages/storage-knex/src/index.ts'),
    import('../packages/storage-knex/test/seed.ts'),
    import('knex'),
  ]);
  return {
    createMemoryStores: core.createMemoryStores,
    createPolicy: core.createPolicy,
    policyRequest: testing.policyRequest,
    createThrottleAdmin: plugin.createThrottleAdmin,
    throttle: plugin.throttle,
    openStorage: storage.openStorage,
    seedDomains: seed.seedDomains,
    knexFactory: knex.default,
  };
}

type Loaded = Awaited<ReturnType<typeof load>>;

/** Options of {@link benchThrottle}. */
export interface ThrottleBenchOptions {
  /** Measured time per cell, in milliseconds. */
  readonly durationMs: number;
  /** Unmeasured time before it. */
  readonly warmupMs: number;
  /** Concurrent callers of `policy.evaluate`. */
  readonly callers: number;
}

/** One measured cell. */
export interface ThrottleBenchRow {
  /** Store backend. */
  readonly backend: string;
  /** Workload. */
  readonly workload: string;
  /** Decisions per second. */
  readonly decisionsPerSec: number;
  /** Median latency of one decision, in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile latency, in milliseconds. */
  readonly p99Ms: number;
  /** Store calls per decision (`findSettings` + `consume`; the domain look-up runs alongside the first). */
  readonly storeCallsPerDecision: number;
}

/** A backend to measure: the two stores and how to release them. */
export interface ThrottleBenchBackend {
  /** Label in the report. */
  readonly name: string;
  /** The throttle store. */
  readonly throttle: ThrottleStore;
  /** The domain store. */
  readonly domains: DomainStore;
  /** Release it. */
  close(): Promise<void>;
}

/** Defaults: about 45 s with all four backends. */
export const DEFAULT_THROTTLE_BENCH: ThrottleBenchOptions = Object.freeze({
  durationMs: 3_000,
  warmupMs: 500,
  callers: 32,
});

const DOMAINS = 10;
const USERS = 1_000;
const SENDERS = 2_000;
const CLIENTS = 500;
const REQUESTS = 5_000;
const LARGE = 100_000_000_000_000;

/** A small deterministic generator (mulberry32), so every run uses the same data and request order. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The vmail rows of the bench: `d0.test` … `d9.test`, and `alias.test` → `d0.test`. */
export const BENCH_DOMAINS: DomainSeed = Object.freeze({
  domains: Array.from({ length: DOMAINS }, (_, i) => ({ domain: `d${i}.test` })),
  aliasDomains: [{ aliasDomain: 'alias.test', targetDomain: 'd0.test' }],
});

const user = (i: number) => `u${i}@d${i % DOMAINS}.test`;
const sender = (i: number) => `s${i}@ext${i % 50}.example`;
const client = (i: number) => `198.51.${Math.floor(i / 250)}.${i % 250}`;

/**
 * Settings as an iRedMail server has them: server-wide defaults for every kind, per-domain outbound and inbound
 * limits, 100 users with their own, and a few IP-based ones.
 */
export async function seedBenchSettings(lib: Loaded, store: ThrottleStore): Promise<void> {
  const admin = lib.createThrottleAdmin(store);
  const limits = {
    periodSeconds: 3600,
    maxMessages: LARGE,
    maxQuotaBytes: LARGE,
    maxMessageSizeBytes: 50_000_000,
  };
  for (const kind of ['outbound', 'external', 'inbound'] as const) {
    await admin.set({ account: '@.', kind, ...limits, maxRecipients: 1000 });
  }
  for (let d = 0; d < DOMAINS; d++) {
    await admin.set({ account: `@d${d}.test`, kind: 'outbound', periodSeconds: 3600, maxMessages: LARGE });
    await admin.set({ account: `@d${d}.test`, kind: 'inbound', periodSeconds: 86_400, maxQuotaBytes: LARGE });
  }
  for (let i = 0; i < 100; i++) {
    await admin.set({ account: user(i), kind: 'outbound', periodSeconds: 600, maxMessages: LARGE });
  }
  await admin.set({ account: '198.51.0.*', kind: 'external', periodSeconds: 60, maxMessages: LARGE });
  await admin.set({ account: '@ip', kind: 'inbound', periodSeconds: 60, maxRecipients: 500 });
}

const eom = { protocol_state: 'END-OF-MESSAGE', recipient_count: 1, size: 20_000 };

/** The requests of a workload, in the order callers take them. */
export function benchRequests(lib: Loaded, workload: 'spread' | 'one counter'): PolicyRequest[] {
  const { policyRequest } = lib;
  if (workload === 'one counter') {
    return [policyRequest({ ...eom, sasl_username: user(7), sender: user(7), recipient: sender(1) })];
  }
  const rnd = random(2);
  const pick = (n: number) => Math.floor(rnd() * n);
  const distinct = Array.from({ length: REQUESTS }, () => {
    const authenticated = rnd() < 0.2;
    const u = pick(USERS);
    const address = client(pick(CLIENTS));
    return policyRequest(
      authenticated
        ? {
            ...eom,
            sasl_username: user(u),
            sender: user(u),
            recipient: sender(pick(SENDERS)),
            client_address: address,
          }
        : { ...eom, sender: sender(pick(SENDERS)), recipient: user(u), client_address: address },
    );
  });
  return Array.from({ length: 4 * REQUESTS }, () => distinct[pick(REQUESTS)] as PolicyRequest);
}

/** Measure one backend with both workloads. */
export async function benchBackend(
  lib: Loaded,
  backend: ThrottleBenchBackend,
  options: ThrottleBenchOptions,
): Promise<ThrottleBenchRow[]> {
  const rows: ThrottleBenchRow[] = [];
  for (const workload of ['spread', 'one counter'] as const) {
    const requests = benchRequests(lib, workload);
    const counter = { calls: 0 };
    const plugin = lib.throttle({
      store: countingProxy(backend.throttle, counter),
      domains: backend.domains,
    });
    const policy = await lib.createPolicy({
      plugins: [plugin],
      onPluginError: 'skip',
      pluginTimeoutMs: 30_000,
    });
    let next = 0;
    let measuring = false;
    let stop = false;
    const samples: number[] = [];
    let failures = 0;
    let rejected = 0;
    const caller = async () => {
      let n = 0;
      while (!stop) {
        // A memory store answers without I/O: let timers run now and then, or the loop starves them.
        if (++n % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
        const request = requests[next++ % requests.length] as PolicyRequest;
        const start = performance.now();
        const { trace } = await policy.evaluate(request);
        if (measuring) {
          samples.push(performance.now() - start);
          if (trace[0]?.outcome === 'failed' || trace[0]?.outcome === 'timeout') failures++;
          if (trace[0]?.decision?.action === 'REJECT') rejected++;
        }
      }
    };
    const callers = Array.from({ length: options.callers }, caller);
    await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
    counter.calls = 0;
    measuring = true;
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.durationMs));
    measuring = false;
    const elapsed = performance.now() - started;
    const calls = counter.calls;
    stop = true;
    await Promise.all(callers);
    await policy.close();
    if (failures > 0) throw new Error(`${backend.name}/${workload}: ${failures} decisions failed`);
    if (rejected > 0) throw new Error(`${backend.name}/${workload}: ${rejected} messages rejected`);
    const sorted = Float64Array.from(samples).sort();
    rows.push({
      backend: backend.name,
      workload,
      decisionsPerSec: (samples.length / elapsed) * 1000,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      storeCallsPerDecision: calls / Math.max(1, samples.length),
    });
  }
  return rows;
}

/** The memory stores, filled. */
export async function memoryBackend(lib: Loaded): Promise<ThrottleBenchBackend> {
  const stores = lib.createMemoryStores({ domains: BENCH_DOMAINS });
  await seedBenchSettings(lib, stores.throttle);
  return { name: 'memory', throttle: stores.throttle, domains: stores.domains, close: async () => {} };
}

/** A SQLite file in the temporary directory, filled; removed on close. */
export async function sqliteBackend(lib: Loaded): Promise<ThrottleBenchBackend> {
  const filename = join(tmpdir(), `policyd-bench-throttle-${process.pid}.sqlite`);
  rmSync(filename, { force: true });
  const storage = await lib.openStorage({ client: 'sqlite', filename, migrate: true });
  await lib.seedDomains(storage.databases.vmail, BENCH_DOMAINS);
  await seedBenchSettings(lib, storage.throttle);
  return {
    name: 'sqlite',
    throttle: storage.throttle,
    domains: storage.domains,
    close: async () => {
      await storage.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(filename + suffix, { force: true });
    },
  };
}

/**
 * A temporary database on a MariaDB or PostgreSQL server, filled; dropped on close. `undefined` when the server
 * does not answer (or its URL is `off`).
 */
async function serverBackend(
  lib: Loaded,
  kind: 'mysql' | 'pg',
  url: string,
): Promise<ThrottleBenchBackend | undefined> {
  if (url === 'off') return undefined;
  const parsed = new URL(url);
  const connection = {
    host: parsed.hostname,
    port: Number(parsed.port) || (kind === 'pg' ? 5432 : 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.slice(1),
  };
  const admin = lib.knexFactory({
    client: kind === 'pg' ? 'pg' : 'mysql2',
    connection:
      kind === 'pg'
        ? { ...connection, connectionTimeoutMillis: 3000 }
        : { ...connection, connectTimeout: 3000 },
    pool: { min: 0, max: 1 },
  });
  const database = `policyd_bench_${process.pid}`;
  const quote = (name: string) => (kind === 'pg' ? `"${name}"` : `\`${name}\``);
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${quote(database)}`);
    await admin.raw(`CREATE DATABASE ${quote(database)}`);
  } catch (err) {
    await admin.destroy();
    console.error(`throttle bench: ${kind} at ${parsed.host} skipped: ${(err as Error).message}`);
    return undefined;
  }
  const storage = await lib.openStorage({
    client: kind,
    iredapd: { ...connection, database },
    migrate: true,
    pool: { max: 10 },
  });
  await lib.seedDomains(storage.databases.vmail, BENCH_DOMAINS);
  await seedBenchSettings(lib, storage.throttle);
  return {
    name: kind === 'pg' ? 'postgres' : 'mariadb',
    throttle: storage.throttle,
    domains: storage.domains,
    close: async () => {
      await storage.close();
      await admin.raw(`DROP DATABASE IF EXISTS ${quote(database)}`);
      await admin.destroy();
    },
  };
}

/** The rows as a Markdown table. */
export function formatThrottleReport(
  rows: readonly ThrottleBenchRow[],
  options: ThrottleBenchOptions,
): string {
  const lines = [
    `${options.callers} concurrent callers, ${options.durationMs / 1000} s measured after ${options.warmupMs / 1000} s warm-up:`,
    '',
    '| store | workload | decisions/s | p50 ms | p99 ms | store calls/decision |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.workload} | ${Math.round(r.decisionsPerSec)} | ${r.p50Ms.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${r.storeCallsPerDecision.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

/** Run every reachable backend. */
export async function benchThrottle(
  options: ThrottleBenchOptions = DEFAULT_THROTTLE_BENCH,
  progress: (line: string) => void = () => {},
): Promise<ThrottleBenchRow[]> {
  const lib = await load();
  const rows: ThrottleBenchRow[] = [];
  const factories: (() => Promise<ThrottleBenchBackend | undefined>)[] = [
    () => memoryBackend(lib),
    () => sqliteBackend(lib),
    () =>
      serverBackend(lib, 'mysql', process.env.POLICYD_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'),
    () =>
      serverBackend(lib, 'pg', process.env.POLICYD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'),
  ];
  for (const factory of factories) {
    const backend = await factory();
    if (backend === undefined) continue;
    try {
      progress(`throttle bench: ${backend.name}`);
      rows.push(...(await benchBackend(lib, backend, options)));
    } finally {
      await backend.close();
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: String(DEFAULT_THROTTLE_BENCH.durationMs) },
      warmup: { type: 'string', default: String(DEFAULT_THROTTLE_BENCH.warmupMs) },
      callers: { type: 'string', default: String(DEFAULT_THROTTLE_BENCH.callers) },
    },
  });
  const options = {
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
    callers: Number(values.callers),
  };
  const rows = await benchThrottle(options, (line) => console.error(line));
  console.log(
    `# policyd throttle benchmark\n\nNode ${process.version}\n\n${formatThrottleReport(rows, options)}`,
  );
}

// Run as `.ts`: bundle first, so that the packages' own `@policyd/core` imports resolve to source like ours.
await runBundled(import.meta.url, 'throttle', main);
