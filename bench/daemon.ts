/**
 * The iRedAPD-compatible daemon (`examples/iredapd-compatible`, `startDaemon`) end to end: policy requests over
 * TCP to a daemon running `amavisd_wblist`, `greylisting` and `throttle` on SQLite (a temporary file), MariaDB and
 * PostgreSQL (fresh, uniquely named databases created, migrated, seeded and dropped by the bench; a server that
 * does not answer is skipped with a message). Loopback only; the whole run takes about two minutes.
 *
 * Scenarios, at 1, 8 and 32 persistent connections (Postfix's smtpd: one request at a time per connection):
 * - new triplet: every RCPT request comes from a new client with a new sender → greylisting defers (451);
 * - passed client: RCPT requests from 2 000 clients that passed greylisting before, random senders → DUNNO
 *   after greylisting and amavisd_wblist (looks the lists up). Each client sends once before the cell, as a
 *   running server has seen its regular clients within the last minute: greylisting answers from its
 *   passed-client memory (`greylisting_passed_client_cache_seconds`);
 * - passed client, first in a minute: the same from 40 000 other passed clients, none asked twice in a run,
 *   so greylisting reads its context and refreshes the client's rows every time (the cold path);
 * - END-OF-MESSAGE: throttle counts the message (80 % inbound to local users, 20 % outbound from
 *   authenticated users) → DUNNO.
 * Every answer is counted: a cell whose answers are not all the expected action is flagged (and the exit
 * status is 1), so a broken setup cannot report fast nonsense.
 *
 * The daemon runs in its own process (this file, bundled, with `--serve`), as in production: the daemon's
 * usual info log line per request (to a temporary file), `smtp_sessions` rows, greylisting's SPF bypass on
 * with a fake in-process DNS (no record for any sender domain, so no real DNS query), and the Node.js flags
 * every launcher of the daemon uses (`DAEMON_NODE_FLAGS`, examples/iredapd-compatible/src/node-flags.ts), and
 * their environment (`DAEMON_ENVIRONMENT`: glibc's `MALLOC_ARENA_MAX=2`; a value in the bench's own environment
 * wins).
 * Memory: its peak RSS (`maxRSS`) over the whole run; RSS and V8's heap (`process.memoryUsage()`) sampled
 * after every cell; at the end of a backend's cells `process.memoryUsage()` and V8's heap spaces
 * (`v8.getHeapSpaceStatistics()`) before and after a full GC. The baseline, measured in the same run at every
 * connection count, is core's codec-only server (`bench/server-process.ts codec`, as `bench/core.ts` runs it):
 * it decodes the same requests and answers DUNNO.
 *
 * Run standalone: `npx node bench/daemon.ts [--duration 1500] [--warmup 300] [--levels 1,8,32]
 * [--backends sqlite,mariadb,postgres] [--node-flags='<flags>'] [--setting name=<JSON>]…`. `--backends` picks
 * backends (default all three); `--node-flags` replaces the daemon's Node.js flags to try others (`''`: none,
 * Node's defaults; with `=`, as the value starts with `--`); `--setting` overrides one of the daemon's settings
 * (e.g. `--setting greylisting_write_behind=false` for iRedAPD's write before the answer); `--scenarios` picks
 * cells of `new,passed,cold,eom` (default all). `POLICYD_BENCH_HEAP_SNAPSHOT=<dir>` writes a heap snapshot of each
 * daemon after its memory figures, `POLICYD_BENCH_CPU_PROF=<dir>` a CPU profile of every server process. It
 * bundles itself and the codec server with esbuild first (into `node_modules/.cache/policyd-bench/`), so every
 * `@policyd/*` import comes from source and Node's TypeScript loader is not in the measured memory. Server
 * URLs: `POLICYD_BENCH_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) and `POLICYD_BENCH_PG_URL`
 * (default `postgres://postgres@127.0.0.1:5432/test`); `off` skips one. Their user must be allowed to create
 * databases (and, on MariaDB, users: the daemon, like iRedAPD, disables a database whose password is empty).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import knexFactory, { type Knex } from 'knex';
import { DAEMON_ENVIRONMENT, DAEMON_NODE_FLAGS } from '../examples/iredapd-compatible/src/node-flags.ts';
import type { KnexStorage } from '../packages/storage-knex/src/index.ts';
import { openConnections, POSTFIX_RCPT_REQUEST } from './load.ts';

// Imported dynamically: unbundled, the packages' own `@policyd/*` imports would load the (maybe stale) dist/.
async function loadLib() {
  const [daemon, testing, storage, tables, seed] = await Promise.all([
    import('../examples/iredapd-compatible/src/daemon.ts'),
    import('../packages/core/src/testing.ts'),
    import('../packages/storage-knex/src/index.ts'),
    import('../packages/storage-knex/src/tables.ts'),
    import('../packages/storage-knex/test/seed.ts'),
  ]);
  return {
    startDaemon: daemon.startDaemon,
    createFakeResolver: testing.createFakeResolver,
    openStorage: storage.openStorage,
    GREYLISTING_TRACKING: tables.GREYLISTING_TRACKING,
    seedDomains: seed.seedDomains,
  };
}

/** Options of {@link benchDaemon}. */
export interface DaemonBenchOptions {
  /** Measured time per cell, in milliseconds. */
  readonly durationMs: number;
  /** Unmeasured time before it. */
  readonly warmupMs: number;
  /** Connection counts. */
  readonly levels: readonly number[];
  /** Backends to measure, of {@link DAEMON_BENCH_BACKENDS}. */
  readonly backends: readonly string[];
  /** Node.js flags of the daemon process (besides `--expose-gc`). */
  readonly nodeFlags: readonly string[];
  /** Scenarios to measure, of {@link DAEMON_BENCH_SCENARIOS}; default all. */
  readonly scenarios?: readonly string[];
  /** Daemon settings over the bench's own (e.g. `{ greylisting_write_behind: false }`). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** The backends, in the order they run. */
export const DAEMON_BENCH_BACKENDS: readonly string[] = Object.freeze(['sqlite', 'mariadb', 'postgres']);

/** Defaults: about two minutes with the three backends. */
export const DEFAULT_DAEMON_BENCH: DaemonBenchOptions = Object.freeze({
  durationMs: 1_500,
  warmupMs: 300,
  levels: Object.freeze([1, 8, 32]),
  backends: DAEMON_BENCH_BACKENDS,
  nodeFlags: DAEMON_NODE_FLAGS,
});

/** One measured cell. */
export interface DaemonBenchRow {
  /** `sqlite`, `mariadb`, `postgres`. */
  readonly backend: string;
  /** Scenario label, or the baseline's. */
  readonly scenario: string;
  /** Connections. */
  readonly connections: number;
  /** Requests per second over the measured window. */
  readonly reqPerSec: number;
  /** Median latency, ms. */
  readonly p50Ms: number;
  /** 99th percentile latency, ms. */
  readonly p99Ms: number;
  /** reqPerSec / the baseline's at the same connection count, measured just before. */
  readonly ratio: number;
  /** Server process CPU (user + system) per request, µs; not the database server's. */
  readonly serverCpuUs: number;
  /** Answers in all (warm-up included). */
  readonly answered: number;
  /** Answers that were not the expected action. */
  readonly unexpected: number;
  /** The most frequent unexpected action, when any. */
  readonly firstUnexpected: string | undefined;
}

/** `process.memoryUsage()` of the daemon, in bytes. */
export interface DaemonMemoryUsage {
  /** Resident set size. */
  readonly rss: number;
  /** V8's heap, committed (all spaces, the young generation's semi-spaces included). */
  readonly heapTotal: number;
  /** V8's heap, live and not yet collected objects. */
  readonly heapUsed: number;
  /** Memory of C++ objects bound to JavaScript objects, `arrayBuffers` included. */
  readonly external: number;
  /** ArrayBuffers and Buffers. */
  readonly arrayBuffers: number;
}

/** One of V8's heap spaces (`v8.getHeapSpaceStatistics()`), in bytes; only spaces of non-zero size. */
export interface DaemonHeapSpace {
  /** `new_space`, `old_space`, `code_space`, `large_object_space` … */
  readonly name: string;
  /** Committed size. */
  readonly size: number;
  /** Used by objects. */
  readonly used: number;
  /** Resident (touched) part of the committed size. */
  readonly physical: number;
}

/** What the daemon process answers to `memory`. */
export interface DaemonMemoryReport extends DaemonMemoryUsage {
  /** Peak RSS in bytes over the process's life (`process.resourceUsage().maxRSS`). */
  readonly maxRss: number;
  /**
   * Linux (`/proc/self/status`): RSS of anonymous memory (heap, malloc, stacks) and of mapped files (the node
   * binary, libraries), in bytes, and the number of threads.
   */
  readonly proc?: { readonly rssAnon: number; readonly rssFile: number; readonly threads: number };
  /** V8's heap spaces. */
  readonly spaces: readonly DaemonHeapSpace[];
}

/** Memory and data of one backend's daemon. */
export interface DaemonBenchBackendInfo {
  /** Backend. */
  readonly backend: string;
  /** Peak RSS in bytes over the daemon's life. */
  readonly maxRss: number;
  /** The highest RSS and heapTotal sampled after a cell (bytes). */
  readonly sampledMax: { readonly rss: number; readonly heapTotal: number };
  /** At the end of the backend's cells, before the full GC. */
  readonly end: DaemonMemoryReport;
  /** The same, after a full GC. */
  readonly afterGc: DaemonMemoryReport;
  /** Row counts after the run, by table. */
  readonly rows: Readonly<Record<string, number>>;
}

/** Everything {@link benchDaemon} measured. */
export interface DaemonBenchReport {
  /** The cells. */
  readonly rows: readonly DaemonBenchRow[];
  /** Per backend. */
  readonly backends: readonly DaemonBenchBackendInfo[];
  /** Backends not measured, with the reason. */
  readonly skipped: readonly string[];
  /** Node.js flags of the daemon process. */
  readonly nodeFlags: readonly string[];
  /** Settings given over the bench's own. */
  readonly settings: Readonly<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------------------
// Requests

const DOMAINS = 10;
const USERS = 1_000;
const PASSED_CLIENTS = 2_000;
/** Passed clients for the cold cells: more than a whole run asks for, so none repeats. */
const COLD_PASSED_CLIENTS = 40_000;
const PENDING_TRIPLETS = 3_000;
const GREYLISTED = '451 4.7.1 Intentional policy rejection, please try again later';

const TEMPLATE = POSTFIX_RCPT_REQUEST.split('\n').slice(0, -2);

/** The realistic Postfix request with some attributes replaced (order kept). */
function request(values: Readonly<Record<string, string>>): string {
  const lines = TEMPLATE.map((line) => {
    const name = line.slice(0, line.indexOf('='));
    const value = values[name];
    return value === undefined ? line : `${name}=${value}`;
  });
  return `${lines.join('\n')}\n\n`;
}

const user = (i: number) => `u${i % USERS}@d${i % DOMAINS}.test`;
const ip = (a: number, n: number) => `${a}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Scenario names for `--scenarios`, in the order the cells run. */
export const DAEMON_BENCH_SCENARIOS: readonly string[] = Object.freeze(['new', 'passed', 'cold', 'eom']);

interface Scenario {
  /** One of {@link DAEMON_BENCH_SCENARIOS}. */
  readonly name: string;
  readonly label: string;
  readonly expected: string;
  /** Requests sent (unmeasured) before the cell, so that the daemon's caches hold what a running one's do. */
  readonly primeRequests?: number;
  /** Numbered clients it uses up: later cells start after them, so that none repeats within a run. */
  readonly usesUp?: 'triplets' | 'cold clients';
  next(): string;
}

/** Every request a never-seen client and sender; `start` keeps backends' and cells' triplets apart. */
function newTriplets(start: number): Scenario {
  let n = start;
  return {
    name: 'new',
    label: 'new triplet (451)',
    usesUp: 'triplets',
    expected: GREYLISTED,
    next: () => {
      n++;
      return request({
        client_address: ip(45, n),
        client_name: 'unknown',
        reverse_client_name: 'unknown',
        sender: `n${n}@s${n % 5_000}.example`,
        recipient: user(n),
        instance: `nt.${n}`,
      });
    },
  };
}

/**
 * Requests from the pre-passed clients, random senders, local recipients. Each of the 2 000 clients sends once
 * before the cell (a running server has seen its regular clients within the last minute).
 */
function passedClients(): Scenario {
  let n = 0;
  return {
    name: 'passed',
    label: 'passed client (DUNNO)',
    expected: 'DUNNO',
    primeRequests: PASSED_CLIENTS,
    next: () => {
      n++;
      const c = (n * 7_919) % PASSED_CLIENTS;
      return request({
        client_address: ip(46, c),
        sender: `p${n}@ext${n % 500}.example`,
        recipient: user(n * 31),
        instance: `pc.${n}`,
      });
    },
  };
}

/**
 * Requests from passed clients the daemon has not seen within its passed-client memory (the first request
 * of a client in a minute): the greylisting context is read and the client's rows refreshed. `start` keeps
 * cells apart, so no client repeats within a run.
 */
function coldPassedClients(start: number): Scenario {
  let n = start;
  return {
    name: 'cold',
    label: 'passed client, first in a minute (DUNNO)',
    usesUp: 'cold clients',
    expected: 'DUNNO',
    next: () => {
      n++;
      const c = n % COLD_PASSED_CLIENTS;
      return request({
        client_address: ip(48, c),
        sender: `q${n}@ext${n % 500}.example`,
        recipient: user(n * 37),
        instance: `cpc.${n}`,
      });
    },
  };
}

/** END-OF-MESSAGE: 4 in 5 inbound from outside, 1 in 5 outbound from an authenticated user. */
function endOfMessage(): Scenario {
  let n = 0;
  return {
    name: 'eom',
    label: 'END-OF-MESSAGE (DUNNO)',
    expected: 'DUNNO',
    next: () => {
      n++;
      const base = {
        protocol_state: 'END-OF-MESSAGE',
        recipient_count: '1',
        size: '20480',
        instance: `eom.${n}`,
      };
      if (n % 5 === 0) {
        const u = user(n * 13);
        return request({
          ...base,
          sasl_method: 'PLAIN',
          sasl_username: u,
          sender: u,
          recipient: `r${n % 3_000}@ext${n % 500}.example`,
        });
      }
      return request({
        ...base,
        client_address: ip(46, n % PASSED_CLIENTS),
        sender: `e${n % 3_000}@ext${n % 500}.example`,
        recipient: user(n * 17),
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Load

interface CellResult {
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly answered: number;
  readonly actions: ReadonlyMap<string, number>;
}

const MAX_SAMPLES = 2_000_000;
const STALL_MS = 10_000;

/**
 * Like `runLoad` of bench/load.ts, but each request comes from the scenario (a new triplet every time) and
 * every answer's action is counted. With `maxRequests` the run ends after that many answers (seeding).
 */
async function drive(
  port: number,
  connections: number,
  scenario: Scenario,
  timing: { readonly durationMs: number; readonly warmupMs: number; readonly maxRequests?: number },
): Promise<CellResult> {
  const sockets = await openConnections({ host: '127.0.0.1', port }, connections);
  const latencies = new Float64Array(MAX_SAMPLES);
  const actions = new Map<string, number>();
  let measured = 0;
  let answered = 0;
  let sent = 0;
  const limit = timing.maxRequests ?? Number.POSITIVE_INFINITY;
  const windowStart = performance.now() + timing.warmupMs;
  const windowEnd = windowStart + timing.durationMs;
  let lastReply = windowStart;
  try {
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve, reject) => {
            let sentAt = 0;
            let buffered = '';
            const stall = setInterval(() => {
              if (performance.now() - sentAt > STALL_MS) reject(new Error(`no reply within ${STALL_MS} ms`));
            }, STALL_MS);
            const send = () => {
              sent++;
              sentAt = performance.now();
              socket.write(scenario.next(), 'latin1');
            };
            socket.on('data', (chunk: Buffer) => {
              buffered += chunk.toString('latin1');
              if (!buffered.endsWith('\n\n')) return;
              const now = performance.now();
              const action = buffered.startsWith('action=') ? buffered.slice(7, -2) : buffered;
              buffered = '';
              actions.set(action, (actions.get(action) ?? 0) + 1);
              answered++;
              if (now >= windowStart && sentAt >= windowStart && measured < MAX_SAMPLES) {
                latencies[measured++] = now - sentAt;
                lastReply = now;
              }
              if (now >= windowEnd || sent >= limit) {
                clearInterval(stall);
                resolve();
              } else {
                send();
              }
            });
            socket.once('close', () => {
              clearInterval(stall);
              reject(new Error('connection closed by the server'));
            });
            send();
          }),
      ),
    );
  } finally {
    for (const socket of sockets) {
      socket.removeAllListeners('close');
      socket.on('error', () => {});
      socket.destroy();
    }
  }
  const sorted = latencies.subarray(0, measured).sort();
  const at = (p: number) =>
    measured === 0 ? 0 : sorted[Math.min(measured - 1, Math.ceil(p * measured) - 1)]!;
  return {
    reqPerSec: (measured / Math.max(lastReply - windowStart, 1)) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    answered,
    actions,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Server processes

interface Child {
  readonly child: ChildProcess;
  readonly port: number;
}

async function startChild(
  args: readonly string[],
  nodeFlags: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Child> {
  // POLICYD_BENCH_CPU_PROF=<dir>: write a V8 CPU profile of every server process there (to see what dominates).
  // POLICYD_BENCH_HEAP_SNAPSHOT=<dir>: a heap snapshot of each daemon at the end of its cells, after the GC.
  const profile = process.env.POLICYD_BENCH_CPU_PROF;
  const flags = profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile];
  const child = spawn(process.execPath, ['--expose-gc', ...nodeFlags, ...flags, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
  });
  const failed = once(child, 'exit').then(([code]) => {
    throw new Error(`server process exited (${String(code)}) before listening`);
  });
  const [message] = (await Promise.race([once(child, 'message'), failed])) as [{ port: number }];
  failed.catch(() => {});
  return { child, port: message.port };
}

async function ask<T>(server: Child, what: string): Promise<T> {
  server.child.send(what);
  const [message] = (await once(server.child, 'message')) as [T];
  return message;
}

const cpuOf = async (server: Child) => {
  const usage = await ask<NodeJS.CpuUsage>(server, 'cpu');
  return usage.user + usage.system;
};

async function stopChild(server: Child): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.send('exit');
  await exited;
}

/** `--serve <settings file> <log file>`: the daemon, with the IPC protocol of bench/server-process.ts. */
async function serve(config: string, logFile: string): Promise<void> {
  const { startDaemon, createFakeResolver } = await loadLib();
  const daemon = await startDaemon({
    config,
    logFile,
    listen: { host: '127.0.0.1', port: 0 },
    dns: createFakeResolver(),
    hostname: 'mx.bench.test',
  });
  const proc = (): Pick<DaemonMemoryReport, 'proc'> => {
    let status: string;
    try {
      status = readFileSync('/proc/self/status', 'latin1');
    } catch {
      return {}; // not Linux
    }
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return {
      proc: { rssAnon: field('RssAnon') * 1024, rssFile: field('RssFile') * 1024, threads: field('Threads') },
    };
  };
  const memory = (): DaemonMemoryReport => ({
    ...process.memoryUsage(),
    maxRss: process.resourceUsage().maxRSS * 1024,
    ...proc(),
    spaces: getHeapSpaceStatistics()
      .filter((s) => s.space_size > 0)
      .map((s) => ({
        name: s.space_name,
        size: s.space_size,
        used: s.space_used_size,
        physical: s.physical_space_size,
      })),
  });
  process.on('message', (message) => {
    if (message === 'memory') {
      process.send?.(memory());
    } else if (message === 'memory after gc') {
      globalThis.gc?.();
      process.send?.(memory());
      // After the figures: a snapshot costs far more memory than the daemon holds.
      const snapshots = process.env.POLICYD_BENCH_HEAP_SNAPSHOT;
      if (snapshots !== undefined) writeHeapSnapshot(join(snapshots, `daemon-${process.pid}.heapsnapshot`));
    } else if (message === 'cpu') {
      process.send?.(process.cpuUsage());
    } else if (message === 'exit') {
      void daemon.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port: daemon.address.port });
}

// ---------------------------------------------------------------------------------------------------------
// Databases

interface PreparedBackend {
  readonly name: string;
  /** Settings for the daemon (iRedAPD's names, as JSON). */
  readonly settings: Record<string, unknown>;
  /** Admin storage on the same databases (seeding, counting). */
  readonly storage: KnexStorage;
  /** Close and drop everything. */
  destroy(): Promise<void>;
}

const PLUGINS = ['amavisd_wblist', 'greylisting', 'throttle'];
const LARGE = 1_000_000_000_000;

async function seed(storage: KnexStorage): Promise<void> {
  const { seedDomains, GREYLISTING_TRACKING } = await loadLib();
  await seedDomains(storage.databases.vmail, {
    domains: Array.from({ length: DOMAINS }, (_, i) => ({ domain: `d${i}.test` })),
  });
  // Greylisting for everyone, as iRedMail installs it, and a few whitelisted networks.
  await storage.greylist.setSetting({ account: '@.', sender: '@.', active: true });
  for (let i = 0; i < 20; i++)
    await storage.greylist.addWhitelist({ account: '@.', sender: `203.0.113.${i}` });
  // White- and blacklists: 100 users with 5 whitelisted and 2 blacklisted senders each, a global blacklist.
  for (let i = 0; i < 100; i++) {
    const account = user(i);
    const friends = Array.from({ length: 5 }, (_, j) => `friend${j}@partner${i % 20}.example`);
    await storage.wblist.add({ account, direction: 'inbound', list: 'whitelist', addresses: friends });
    await storage.wblist.add({
      account,
      direction: 'inbound',
      list: 'blacklist',
      addresses: [`spam${i}@spammer.example`, `@junk${i}.example`],
    });
  }
  await storage.wblist.add({
    account: '@.',
    direction: 'inbound',
    list: 'blacklist',
    addresses: ['@spam-domain.example', '192.0.2.66'],
  });
  // Throttle: server-wide outbound and inbound limits nobody reaches.
  for (const kind of ['outbound', 'inbound'] as const) {
    await storage.throttle.setSetting({
      account: '@.',
      kind,
      periodSeconds: 3600,
      maxMessages: LARGE,
      maxQuotaBytes: LARGE,
      maxRecipients: 1000,
      maxMessageSizeBytes: 100_000_000,
    });
  }
  // Tracking rows: pending triplets, and the clients that passed before (one passed triplet each).
  const now = Math.floor(Date.now() / 1000);
  const T = GREYLISTING_TRACKING.col;
  const row = (client: string, sender: string, recipient: string, passed: boolean) => ({
    [T.sender]: sender,
    [T.recipient]: recipient,
    [T.clientAddress]: client,
    [T.senderDomain]: sender.slice(sender.indexOf('@') + 1),
    [T.rcptDomain]: recipient.slice(recipient.indexOf('@') + 1),
    [T.initTime]: now - 3_600,
    [T.blockExpired]: passed ? now - 3_300 : now + 900,
    [T.recordExpired]: passed ? now + 30 * 86_400 : now + 86_400,
    [T.blockedCount]: 1,
    [T.passed]: passed ? 1 : 0,
  });
  const rows = [
    ...Array.from({ length: PENDING_TRIPLETS }, (_, i) =>
      row(ip(47, i), `old${i}@ext${i % 500}.example`, user(i), false),
    ),
    ...Array.from({ length: PASSED_CLIENTS }, (_, i) =>
      row(ip(46, i), `first${i}@ext${i % 500}.example`, user(i), true),
    ),
    ...Array.from({ length: COLD_PASSED_CLIENTS }, (_, i) =>
      row(ip(48, i), `cold${i}@ext${i % 500}.example`, user(i), true),
    ),
  ];
  await storage.databases.iredapd.knex.batchInsert(GREYLISTING_TRACKING.name, rows, 500);
}

async function prepareSqlite(dir: string): Promise<PreparedBackend> {
  const filename = join(dir, 'policyd.sqlite');
  const { openStorage } = await loadLib();
  const storage = await openStorage({ client: 'sqlite', filename });
  await seed(storage);
  return {
    name: 'sqlite',
    settings: { backend: 'sqlite', sqlite_db_path: filename },
    storage,
    destroy: () => storage.close(),
  };
}

const QUIET: Knex.Logger = { warn() {}, error() {}, deprecate() {}, debug() {} };
// Unique per run: two runs at once (or a run that died) must not share, or drop, each other's user.
const DAEMON_USER = `policyd_bench_${randomBytes(4).toString('hex')}`;
const DAEMON_PASSWORD = 'policyd-bench';
const LOGICAL = ['iredapd', 'amavisd', 'vmail'] as const;

/** Fresh databases on a server, migrated and seeded; undefined (with the reason) when it does not answer. */
async function prepareServer(kind: 'mysql' | 'pg', url: string): Promise<PreparedBackend | string> {
  const name = kind === 'mysql' ? 'mariadb' : 'postgres';
  if (url === 'off') return `${name}: skipped (URL is off)`;
  const parsed = new URL(url);
  const connection = {
    host: parsed.hostname,
    port: Number(parsed.port) || (kind === 'pg' ? 5432 : 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)) || 'test',
  };
  const admin = knexFactory({
    client: kind === 'pg' ? 'pg' : 'mysql2',
    connection:
      kind === 'pg'
        ? { ...connection, connectionTimeoutMillis: 3000 }
        : { ...connection, connectTimeout: 3000 },
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 3000,
    log: QUIET,
  });
  const quote = (id: string) => (kind === 'pg' ? `"${id}"` : `\`${id}\``);
  const prefix = `policyd_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const names = Object.fromEntries(LOGICAL.map((db) => [db, `${prefix}_${db}`])) as Record<
    (typeof LOGICAL)[number],
    string
  >;
  const dropAll = async () => {
    for (const db of Object.values(names)) {
      await admin.raw(`DROP DATABASE IF EXISTS ${quote(db)}${kind === 'pg' ? ' WITH (FORCE)' : ''}`);
    }
    if (kind === 'mysql') {
      for (const host of ['%', 'localhost', '127.0.0.1'])
        await admin.raw(`DROP USER IF EXISTS '${DAEMON_USER}'@'${host}'`);
    }
  };
  try {
    await admin.raw('select 1');
  } catch (err) {
    await admin.destroy();
    return `${name}: skipped, ${url} does not answer (${err instanceof Error ? err.message : String(err)})`;
  }
  let storage: KnexStorage | undefined;
  try {
    for (const db of Object.values(names)) await admin.raw(`CREATE DATABASE ${quote(db)}`);
    let user = connection.user || 'postgres';
    let password = 'unused-with-trust-auth';
    if (kind === 'mysql') {
      // The daemon (as iRedAPD) disables a database whose password is empty: a user with one.
      user = DAEMON_USER;
      password = DAEMON_PASSWORD;
      for (const host of ['%', 'localhost', '127.0.0.1']) {
        await admin.raw(`CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY '${password}'`);
        for (const db of Object.values(names))
          await admin.raw(`GRANT ALL ON ${quote(db)}.* TO '${user}'@'${host}'`);
      }
    }
    const { openStorage } = await loadLib();
    const opened = await openStorage({
      client: kind,
      iredapd: { ...connection, database: names.iredapd },
      amavisd: { ...connection, database: names.amavisd },
      vmail: { ...connection, database: names.vmail },
      pool: { max: 4 },
      migrate: true,
    });
    storage = opened;
    await seed(opened);
    const settings: Record<string, unknown> = { backend: kind === 'pg' ? 'pgsql' : 'mysql' };
    for (const db of LOGICAL) {
      Object.assign(settings, {
        [`${db}_db_server`]: connection.host,
        [`${db}_db_port`]: String(connection.port),
        [`${db}_db_name`]: names[db],
        [`${db}_db_user`]: user,
        [`${db}_db_password`]: password,
      });
    }
    return {
      name,
      settings,
      storage: opened,
      destroy: async () => {
        await opened.close();
        await dropAll();
        await admin.destroy();
      },
    };
  } catch (err) {
    await storage?.close();
    await dropAll().catch(() => {});
    await admin.destroy();
    throw err;
  }
}

async function countRows(storage: KnexStorage): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const tables = [
    ['iredapd', 'greylisting_tracking'],
    ['iredapd', 'throttle_tracking'],
    ['iredapd', 'smtp_sessions'],
    ['amavisd', 'wblist'],
  ] as const;
  for (const [db, table] of tables) {
    const [row] = (await storage.databases[db].knex(table).count({ n: '*' })) as { n: number | string }[];
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------
// The run

/**
 * Measure every scenario at every connection count on every reachable backend, with the codec-only baseline
 * measured right before each backend's cells at the same connection count.
 */
export async function benchDaemon(
  options: DaemonBenchOptions,
  codecBundle: string,
  progress: (line: string) => void,
): Promise<DaemonBenchReport> {
  const self = fileURLToPath(import.meta.url);
  const rows: DaemonBenchRow[] = [];
  const backends: DaemonBenchBackendInfo[] = [];
  const skipped: string[] = [];
  for (const name of options.backends) {
    if (!DAEMON_BENCH_BACKENDS.includes(name)) {
      throw new Error(`unknown backend ${name}: expected some of ${DAEMON_BENCH_BACKENDS.join(', ')}`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'policyd-bench-daemon-'));
  const baseline = await startChild([codecBundle, 'codec', '0']);
  let tripletBase = 0;
  // Cold passed clients asked so far on the current backend (each backend has its own seeded rows).
  let coldBase = 0;
  try {
    const preparers: Record<string, () => Promise<PreparedBackend | string>> = {
      sqlite: () => prepareSqlite(dir),
      mariadb: () =>
        prepareServer('mysql', process.env.POLICYD_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'),
      postgres: () =>
        prepareServer('pg', process.env.POLICYD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'),
    };
    for (const prepare of DAEMON_BENCH_BACKENDS.filter((b) => options.backends.includes(b)).map(
      (b) => preparers[b]!,
    )) {
      coldBase = 0;
      const started = performance.now();
      const prepared = await prepare();
      if (typeof prepared === 'string') {
        skipped.push(prepared);
        progress(prepared);
        continue;
      }
      try {
        const config = join(dir, `${prepared.name}.json`);
        writeFileSync(
          config,
          JSON.stringify({
            ...prepared.settings,
            plugins: PLUGINS,
            log_level: 'info',
            listen_address: '127.0.0.1',
            ...options.settings,
          }),
        );
        const daemon = await startChild(
          [self, '--serve', config, join(dir, `${prepared.name}.log`)],
          options.nodeFlags,
          { ...DAEMON_ENVIRONMENT, ...process.env },
        );
        const sampledMax = { rss: 0, heapTotal: 0 };
        try {
          // Throttle counters as a running server has them: 2 000 messages before measuring.
          await drive(daemon.port, 8, endOfMessage(), {
            durationMs: 60_000,
            warmupMs: 0,
            maxRequests: 2_000,
          });
          progress(
            `${prepared.name}: seeded and started in ${((performance.now() - started) / 1000).toFixed(1)} s`,
          );
          for (const connections of options.levels) {
            const base = await measure(baseline, connections, newTriplets(0), {
              ...options,
              expected: 'DUNNO',
            });
            rows.push({
              backend: prepared.name,
              scenario: 'baseline: codec only',
              connections,
              ratio: 1,
              ...base,
            });
            const scenarios = [
              newTriplets(tripletBase),
              passedClients(),
              coldPassedClients(coldBase),
              endOfMessage(),
            ].filter((scenario) => options.scenarios?.includes(scenario.name) ?? true);
            for (const scenario of scenarios) {
              if (scenario.primeRequests !== undefined) {
                await drive(daemon.port, connections, scenario, {
                  durationMs: 60_000,
                  warmupMs: 0,
                  maxRequests: scenario.primeRequests,
                });
              }
              const cell = await measure(daemon, connections, scenario, {
                ...options,
                expected: scenario.expected,
              });
              if (scenario.usesUp === 'triplets') tripletBase += cell.answered + connections;
              if (scenario.usesUp === 'cold clients') coldBase += cell.answered + connections;
              const row: DaemonBenchRow = {
                backend: prepared.name,
                scenario: scenario.label,
                connections,
                ratio: cell.reqPerSec / base.reqPerSec,
                ...cell,
              };
              rows.push(row);
              const sample = await ask<DaemonMemoryReport>(daemon, 'memory');
              sampledMax.rss = Math.max(sampledMax.rss, sample.rss);
              sampledMax.heapTotal = Math.max(sampledMax.heapTotal, sample.heapTotal);
              progress(
                `${formatRow(row)} RSS ${(sample.rss / MB).toFixed(0)} MB, heap ` +
                  `${(sample.heapUsed / MB).toFixed(0)}/${(sample.heapTotal / MB).toFixed(0)} MB`,
              );
            }
          }
          const end = await ask<DaemonMemoryReport>(daemon, 'memory');
          const afterGc = await ask<DaemonMemoryReport>(daemon, 'memory after gc');
          const counts = await countRows(prepared.storage);
          backends.push({
            backend: prepared.name,
            maxRss: afterGc.maxRss,
            sampledMax,
            end,
            afterGc,
            rows: counts,
          });
        } finally {
          await stopChild(daemon);
        }
      } finally {
        await prepared.destroy();
      }
    }
  } finally {
    await stopChild(baseline);
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, backends, skipped, nodeFlags: options.nodeFlags, settings: options.settings ?? {} };
}

async function measure(
  server: Child,
  connections: number,
  scenario: Scenario,
  options: DaemonBenchOptions & { readonly expected: string },
): Promise<Omit<DaemonBenchRow, 'backend' | 'scenario' | 'connections' | 'ratio'>> {
  const cpuBefore = await cpuOf(server);
  const result = await drive(server.port, connections, scenario, options);
  const serverCpuUs = ((await cpuOf(server)) - cpuBefore) / result.answered;
  let unexpected = 0;
  let firstUnexpected: string | undefined;
  for (const [action, count] of result.actions) {
    if (action === options.expected) continue;
    unexpected += count;
    firstUnexpected ??= action;
  }
  return {
    reqPerSec: result.reqPerSec,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    serverCpuUs,
    answered: result.answered,
    unexpected,
    firstUnexpected,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Report

const MB = 1024 * 1024;

function formatRow(row: DaemonBenchRow): string {
  const ok =
    row.unexpected === 0
      ? `all ${row.answered}`
      : `**${row.unexpected} of ${row.answered} unexpected** (${row.firstUnexpected ?? ''})`;
  return (
    `| ${row.backend} | ${row.scenario} | ${row.connections} | ${Math.round(row.reqPerSec)} | ` +
    `${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${(row.ratio * 100).toFixed(1)} % | ` +
    `${row.serverCpuUs.toFixed(0)} | ${ok} |`
  );
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)}`;

/** Heap spaces by name, committed size (used), in MB. */
function formatSpaces(memory: DaemonMemoryReport): string {
  return memory.spaces
    .filter((s) => s.size >= MB / 2)
    .map((s) => `${s.name.replace(/_space$/, '')} ${mb(s.size)} (${mb(s.used)})`)
    .join(', ');
}

/** The report as Markdown: the table, memory and data per backend, and the issue's targets met or missed. */
export function formatDaemonReport(report: DaemonBenchReport): string {
  const lines = [
    `Daemon's Node.js flags: ${report.nodeFlags.length === 0 ? 'none' : `\`${report.nodeFlags.join(' ')}\``}`,
    ...Object.entries(report.settings).map(
      ([name, value]) => `Setting: \`${name} = ${JSON.stringify(value)}\``,
    ),
    '',
    '| backend | scenario | conns | req/s | p50 ms | p99 ms | vs baseline | daemon CPU µs/req | expected answers |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
    ...report.rows.map(formatRow),
    '',
    'Daemon memory, MB (`process.memoryUsage()`; heap = V8 heapUsed / heapTotal; other = RSS − heapTotal − ' +
      'external: code, V8 and native allocations, thread stacks, libraries):',
    '',
    '| backend | peak RSS | highest after a cell: RSS, heapTotal | end: RSS, heap | after full GC: RSS | heap | external (ArrayBuffers) | other | RSS anon / files, threads |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.backends.map((b) => {
      const g = b.afterGc;
      return (
        `| ${b.backend} | ${mb(b.maxRss)} | ${mb(b.sampledMax.rss)}, ${mb(b.sampledMax.heapTotal)} | ` +
        `${mb(b.end.rss)}, ${mb(b.end.heapUsed)} / ${mb(b.end.heapTotal)} | ${mb(g.rss)} | ` +
        `${mb(g.heapUsed)} / ${mb(g.heapTotal)} | ${mb(g.external)} (${mb(g.arrayBuffers)}) | ` +
        `${mb(g.rss - g.heapTotal - g.external)} | ` +
        `${g.proc === undefined ? '–' : `${mb(g.proc.rssAnon)} / ${mb(g.proc.rssFile)}, ${g.proc.threads}`} |`
      );
    }),
    '',
    "V8's heap spaces ≥ 0.5 MB, committed (used) MB, at the end of the cells, and after the full GC:",
    '',
    ...report.backends.flatMap((b) => [
      `- ${b.backend}: ${formatSpaces(b.end)}`,
      `- ${b.backend} after GC: ${formatSpaces(b.afterGc)}`,
    ]),
    '',
    '| backend | greylisting_tracking | throttle_tracking | smtp_sessions | wblist |',
    '|---|---:|---:|---:|---:|',
    ...report.backends.map(
      (b) =>
        `| ${b.backend} | ${b.rows.greylisting_tracking} | ${b.rows.throttle_tracking} | ` +
        `${b.rows.smtp_sessions} | ${b.rows.wblist} |`,
    ),
    ...report.skipped.map((s) => `\n${s}`),
    '',
    'Targets (issue #7: at 32 connections on MariaDB; RSS on every backend):',
  ];
  const cell = (label: string) =>
    report.rows.find((r) => r.backend === 'mariadb' && r.connections === 32 && r.scenario.startsWith(label));
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  for (const [label, target] of [
    ['new triplet', 2_500],
    ['passed client (', 4_500],
  ] as const) {
    const row = cell(label);
    if (row === undefined) {
      lines.push(`- ${label.replace(' (', '')}: not measured (MariaDB skipped)`);
      continue;
    }
    lines.push(
      `- ${label.replace(' (', '')} ≥ ${target} req/s: ${Math.round(row.reqPerSec)} — ${verdict(row.reqPerSec >= target)}; ` +
        `p99 ≤ 20 ms: ${row.p99Ms.toFixed(2)} ms — ${verdict(row.p99Ms <= 20)}`,
    );
  }
  const peak = Math.max(...report.backends.map((b) => b.maxRss));
  lines.push(`- RSS ≤ 150 MB: peak ${(peak / MB).toFixed(1)} MB — ${verdict(peak <= 150 * MB)}`);
  return lines.join('\n');
}

async function main(codecBundle: string): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: String(DEFAULT_DAEMON_BENCH.durationMs) },
      warmup: { type: 'string', default: String(DEFAULT_DAEMON_BENCH.warmupMs) },
      levels: { type: 'string', default: DEFAULT_DAEMON_BENCH.levels.join(',') },
      backends: { type: 'string', default: DEFAULT_DAEMON_BENCH.backends.join(',') },
      'node-flags': { type: 'string', default: DEFAULT_DAEMON_BENCH.nodeFlags.join(' ') },
      setting: { type: 'string', multiple: true, default: [] },
      scenarios: { type: 'string', default: DAEMON_BENCH_SCENARIOS.join(',') },
    },
  });
  const settings: Record<string, unknown> = {};
  for (const assignment of values.setting) {
    const at = assignment.indexOf('=');
    if (at < 1) throw new Error(`--setting ${assignment}: expected name=<JSON value>`);
    settings[assignment.slice(0, at)] = JSON.parse(assignment.slice(at + 1));
  }
  const cpu = cpus();
  console.log(
    `# policyd-iredapd daemon benchmark\n\nNode ${process.version}, ${process.platform}/${process.arch}, ` +
      `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM\n`,
  );
  const started = performance.now();
  const report = await benchDaemon(
    {
      durationMs: Number(values.duration),
      warmupMs: Number(values.warmup),
      levels: values.levels.split(',').map(Number),
      backends: values.backends.split(',').filter((b) => b !== ''),
      nodeFlags: values['node-flags'].split(/\s+/).filter((f) => f !== ''),
      settings,
      scenarios: values.scenarios.split(',').filter((name) => name !== ''),
    },
    codecBundle,
    (line) => console.error(line),
  );
  console.log(`${formatDaemonReport(report)}\n\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (report.rows.some((r) => r.unexpected > 0)) process.exitCode = 1;
}

const CACHE = new URL('../node_modules/.cache/policyd-bench/', import.meta.url);
const self = fileURLToPath(import.meta.url);
if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (process.argv[2] === '--serve') {
    await serve(process.argv[3] ?? '', process.argv[4] ?? '');
  } else if (self.endsWith('.ts')) {
    // Bundle first (this file and core's codec server), so that the packages' own `@policyd/*` imports
    // resolve to source like ours, and the daemon process runs plain JavaScript.
    const { build } = await import('esbuild');
    // Inside node_modules, so that the external packages (knex, drivers, pino, mailauth) resolve.
    const outfile = fileURLToPath(new URL('daemon.mjs', CACHE));
    const codec = fileURLToPath(new URL('daemon-codec-server.mjs', CACHE));
    const common = {
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      packages: 'external',
      tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
      logLevel: 'warning',
    } as const;
    try {
      // bench/load.ts runs its CLI under `import.meta.main`, which a bundle's modules all share: not here.
      await build({ ...common, entryPoints: [self], outfile, define: { 'import.meta.main': 'false' } });
      await build({
        ...common,
        entryPoints: [fileURLToPath(new URL('./server-process.ts', import.meta.url))],
        outfile: codec,
      });
      const { spawnSync } = await import('node:child_process');
      const result = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, POLICYD_BENCH_CODEC_SERVER: codec },
      });
      process.exitCode = result.status ?? 1;
    } finally {
      if (process.env.KEEP_BUNDLE === undefined) {
        rmSync(outfile, { force: true });
        rmSync(codec, { force: true });
      }
    }
  } else {
    await main(
      process.env.POLICYD_BENCH_CODEC_SERVER ?? fileURLToPath(new URL('daemon-codec-server.mjs', CACHE)),
    );
  }
}
