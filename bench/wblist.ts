/**
 * wblist plugin benchmark: decisions per second and latency of `amavisd_wblist` through `createPolicy`, with 32
 * concurrent callers, on the memory stores and on SQL (SQLite always; MariaDB and PostgreSQL when reachable),
 * with the decision cache off and on. No sockets: this measures the plugin and its store, not the server.
 *
 * Run standalone: `npx node bench/wblist.ts [--duration 3000] [--warmup 500] [--callers 32]`. It bundles itself
 * with esbuild first (as bench/core.ts does for its server), so every `@policyd/*` import comes from source.
 *
 * Data: 1 000 local users in 10 domains (one alias domain), each with a few inbound entries, per-domain and
 * server-wide lists (IPs, wildcards, networks), 100 users with outbound lists. Requests: 5 000 distinct ones
 * (80 % unauthenticated from 2 000 senders and 500 client IPs, 20 % authenticated), taken in a fixed random
 * order, so the cache sees repeats as a busy MX does.
 */

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DomainSeed, DomainStore, PolicyRequest, WblistStore } from '../packages/core/src/index.ts';
import type { KnexStorage } from '../packages/storage-knex/src/index.ts';
import { runBundled } from './lib/bundle.ts';
import { countingProxy } from './lib/counting-proxy.ts';
import { adminKnex, serverConnection } from './lib/server-database.ts';
import { percentile } from './lib/stats.ts';

/**
 * The code under test, imported lazily: run as a `.ts` file, this script only bundles itself and runs the
 * bundle, so it must not load these (their own `@policyd/*` imports would resolve to the packages' dist).
 */
async function load() {
  const [core, testing, plugin, storage, seed] = await Promise.all([
    import('../packages/core/src/index.ts'),
    import('../packages/core/src/testing.ts'),
    import('../packages/plugin-wblist/src/index.ts'),
    import('../packages/storage-knex/src/index.ts'),
    import('../packages/storage-knex/test/seed.ts'),
  ]);
  return {
    createMemoryStores: core.createMemoryStores,
    createPolicy: core.createPolicy,
    policyRequest: testing.policyRequest,
    createWblistAdmin: plugin.createWblistAdmin,
    wblist: plugin.wblist,
    openStorage: storage.openStorage,
    seedDomains: seed.seedDomains,
  };
}

/** Options of {@link benchWblist}. */
export interface WblistBenchOptions {
  /** Measured time per cell, in milliseconds. */
  readonly durationMs: number;
  /** Unmeasured time before it. */
  readonly warmupMs: number;
  /** Concurrent callers of `policy.evaluate`. */
  readonly callers: number;
  /** Backends to run (`memory`, `sqlite`, `mariadb`, `postgres`); all of them when omitted. */
  readonly backends?: readonly string[];
}

/** One measured cell. */
export interface WblistBenchRow {
  /** Store backend. */
  readonly backend: string;
  /** Decision cache on or off. */
  readonly cache: boolean;
  /** Decisions per second. */
  readonly decisionsPerSec: number;
  /** Median latency of one decision, in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile latency, in milliseconds. */
  readonly p99Ms: number;
  /** Store calls per decision (both stores; under 2 because skipped requests and cache hits make none). */
  readonly storeCallsPerDecision: number;
  /**
   * CPU time of this process (user + system, all threads: plugin, policy, knex, drivers, SQLite itself) per
   * decision, in microseconds. A database server's own CPU is not included. Less sensitive to other load on the
   * machine than decisions/s.
   */
  readonly cpuUsPerDecision: number;
}

/** A backend to measure: the two stores and how to release them. */
export interface WblistBenchBackend {
  /** Label in the report. */
  readonly name: string;
  /** The list store. */
  readonly wblist: WblistStore;
  /** The domain store. */
  readonly domains: DomainStore;
  /** Release it. */
  close(): Promise<void>;
}

/** Defaults: about 30 s for memory and SQLite. */
export const DEFAULT_WBLIST_BENCH: WblistBenchOptions = Object.freeze({
  durationMs: 3_000,
  warmupMs: 500,
  callers: 32,
});

const DOMAINS = 10;
const USERS = 1_000;
const SENDERS = 2_000;
const CLIENTS = 500;
const REQUESTS = 5_000;

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

/** Fill the lists through the admin API. */
export async function seedBenchLists(store: WblistStore): Promise<void> {
  const { createWblistAdmin } = await load();
  const admin = createWblistAdmin(store);
  const rnd = random(1);
  const pick = (n: number) => Math.floor(rnd() * n);
  for (let i = 0; i < USERS; i++) {
    await admin.add({
      account: user(i),
      list: 'whitelist',
      addresses: [sender(pick(SENDERS)), `@ext${pick(50)}.example`],
    });
    await admin.add({
      account: user(i),
      list: 'blacklist',
      addresses: [sender(pick(SENDERS)), client(pick(CLIENTS))],
    });
  }
  for (let d = 0; d < DOMAINS; d++) {
    await admin.add({
      account: `@d${d}.test`,
      list: 'blacklist',
      addresses: [`@ext${d}.example`, `198.51.${d}.*`],
    });
  }
  await admin.add({
    list: 'blacklist',
    addresses: [
      ...Array.from({ length: 200 }, (_, i) => client(i * 2)),
      '203.0.113.0/24',
      '2001:db8:bad::/48',
    ],
  });
  await admin.add({ list: 'whitelist', addresses: ['@partner.example', '198.51.1.*'] });
  for (let i = 0; i < 100; i++) {
    await admin.add({
      account: user(i),
      direction: 'outbound',
      list: 'blacklist',
      addresses: [`@ext${i % 50}.example`],
    });
  }
}

/** The requests, in the order callers take them. */
export async function benchRequests(): Promise<PolicyRequest[]> {
  const { policyRequest } = await load();
  const rnd = random(2);
  const pick = (n: number) => Math.floor(rnd() * n);
  const distinct = Array.from({ length: REQUESTS }, () => {
    const authenticated = rnd() < 0.2;
    const u = pick(USERS);
    return policyRequest(
      authenticated
        ? {
            sasl_username: user(u),
            sender: user(u),
            recipient: sender(pick(SENDERS)),
            client_address: client(pick(CLIENTS)),
          }
        : { sender: sender(pick(SENDERS)), recipient: user(u), client_address: client(pick(CLIENTS)) },
    );
  });
  return Array.from({ length: 4 * REQUESTS }, () => distinct[pick(REQUESTS)] as PolicyRequest);
}

/** Measure one backend with the cache off and on. */
export async function benchBackend(
  backend: WblistBenchBackend,
  requests: readonly PolicyRequest[],
  options: WblistBenchOptions,
): Promise<WblistBenchRow[]> {
  const { createPolicy, wblist } = await load();
  const rows: WblistBenchRow[] = [];
  for (const cache of [false, true]) {
    // Deadlines instead of timers: with the memory stores an evaluation never leaves the microtask queue, so a
    // timer would never fire while the callers run.
    const warmupEnd = performance.now() + options.warmupMs;
    const end = warmupEnd + options.durationMs;
    const counter = { calls: 0, from: warmupEnd };
    const plugin = wblist({
      store: countingProxy(backend.wblist, counter),
      domains: countingProxy(backend.domains, counter),
      hostname: 'mx.bench.test',
      cache,
    });
    const policy = await createPolicy({ plugins: [plugin], onPluginError: 'skip' });
    let next = 0;
    let failures = 0;
    const samples: number[] = [];
    let cpuStart: NodeJS.CpuUsage | undefined;
    const caller = async () => {
      for (;;) {
        const start = performance.now();
        if (start >= end) return;
        if (cpuStart === undefined && start >= warmupEnd) cpuStart = process.cpuUsage();
        const { trace } = await policy.evaluate(requests[next++ % requests.length] as PolicyRequest);
        if (start < warmupEnd) continue;
        samples.push(performance.now() - start);
        if (trace[0]?.outcome === 'failed') failures++;
      }
    };
    await Promise.all(Array.from({ length: options.callers }, caller));
    const elapsed = performance.now() - warmupEnd;
    const cpu = process.cpuUsage(cpuStart);
    await policy.close();
    if (failures > 0) throw new Error(`${backend.name}: ${failures} decisions failed`);
    const sorted = Float64Array.from(samples).sort();
    rows.push({
      backend: backend.name,
      cache,
      decisionsPerSec: (samples.length / elapsed) * 1000,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      storeCallsPerDecision: counter.calls / Math.max(1, samples.length),
      cpuUsPerDecision: (cpu.user + cpu.system) / Math.max(1, samples.length),
    });
  }
  return rows;
}

/** The memory stores, filled. */
export async function memoryBackend(): Promise<WblistBenchBackend> {
  const { createMemoryStores } = await load();
  const stores = createMemoryStores({ domains: BENCH_DOMAINS });
  await seedBenchLists(stores.wblist);
  return { name: 'memory', wblist: stores.wblist, domains: stores.domains, close: async () => {} };
}

/** A fresh SQLite file, filled. */
export async function sqliteBackend(): Promise<WblistBenchBackend> {
  const filename = join(tmpdir(), `policyd-bench-wblist-${process.pid}.sqlite`);
  const { openStorage } = await load();
  const storage = await openStorage({ client: 'sqlite', filename, migrate: true });
  await seedAll(storage);
  return {
    name: 'sqlite',
    wblist: storage.wblist,
    domains: storage.domains,
    async close() {
      await storage.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
    },
  };
}

/** The bench's lists (through the admin API) and vmail rows (raw, as the storage-knex tests insert them). */
async function seedAll(storage: KnexStorage): Promise<void> {
  await seedBenchLists(storage.wblist);
  const { seedDomains } = await load();
  await seedDomains(storage.databases.vmail, BENCH_DOMAINS);
}

/** A scratch database on a server, filled, or undefined when the server does not answer. */
async function serverBackend(
  client: 'mysql' | 'pg',
  env: string,
  fallback: string,
  progress: (line: string) => void,
): Promise<WblistBenchBackend | undefined> {
  const text = process.env[env] ?? fallback;
  if (text === 'off') return undefined;
  const url = new URL(text);
  const base = serverConnection(client, url);
  const admin = await adminKnex(client, url);
  const database = `policyd_bench_wblist_${process.pid}`;
  try {
    await admin.raw(`CREATE DATABASE ${database}`);
  } catch (err) {
    progress(`wblist bench: ${client} skipped (${err instanceof Error ? err.message : String(err)})`);
    await admin.destroy();
    return undefined;
  }
  const { openStorage } = await load();
  const storage = await openStorage({
    client,
    iredapd: { ...base, database },
    pool: { max: 10 },
    migrate: true,
  });
  const close = async () => {
    await storage.close();
    await admin.raw(`DROP DATABASE ${database}`);
    await admin.destroy();
  };
  try {
    await seedAll(storage);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    name: client === 'mysql' ? 'mariadb' : 'postgres',
    wblist: storage.wblist,
    domains: storage.domains,
    close,
  };
}

/** The rows as a Markdown table. */
export function formatWblistReport(rows: readonly WblistBenchRow[], options: WblistBenchOptions): string {
  const lines = [
    `${options.callers} concurrent callers, ${options.durationMs / 1000} s measured after ${options.warmupMs / 1000} s warm-up:`,
    '',
    '| store | cache | decisions/s | p50 ms | p99 ms | store calls/decision | CPU µs/decision |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.cache ? 'on' : 'off'} | ${Math.round(r.decisionsPerSec)} | ${r.p50Ms.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${r.storeCallsPerDecision.toFixed(2)} | ${r.cpuUsPerDecision.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

/** Run every reachable backend. */
export async function benchWblist(
  options: WblistBenchOptions = DEFAULT_WBLIST_BENCH,
  progress: (line: string) => void = () => {},
): Promise<WblistBenchRow[]> {
  const requests = await benchRequests();
  const rows: WblistBenchRow[] = [];
  const factories: [string, () => Promise<WblistBenchBackend | undefined>][] = [
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
    if (options.backends !== undefined && !options.backends.includes(name)) continue;
    const backend = await factory();
    if (backend === undefined) continue;
    try {
      progress(`wblist bench: ${backend.name}`);
      rows.push(...(await benchBackend(backend, requests, options)));
    } finally {
      await backend.close();
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: String(DEFAULT_WBLIST_BENCH.durationMs) },
      warmup: { type: 'string', default: String(DEFAULT_WBLIST_BENCH.warmupMs) },
      callers: { type: 'string', default: String(DEFAULT_WBLIST_BENCH.callers) },
      backends: { type: 'string' },
    },
  });
  const options = {
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
    callers: Number(values.callers),
    ...(values.backends === undefined ? {} : { backends: values.backends.split(',') }),
  };
  const rows = await benchWblist(options, (line) => console.error(line));
  console.log(
    `# policyd wblist benchmark\n\nNode ${process.version}\n\n${formatWblistReport(rows, options)}`,
  );
}

// Run as `.ts`: bundle first, so that the packages' own `@policyd/core` imports resolve to source like ours.
await runBundled(import.meta.url, 'wblist', main);
