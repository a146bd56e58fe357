/**
 * Store-level benchmark of the SQL greylisting and throttle stores (and the wblist look-up beside them): the
 * store calls of one decision, with 32 concurrent callers, on each backend, each on its own fresh database.
 * No plugins and no `lookupDomains` (bench/storage-knex.ts measures the plugins' whole store paths); this
 * isolates the statements each store sends.
 *
 * Cells:
 * - `greylisting, new triplet`: `loadContext` then `recordAttempt` of a triplet never seen (the common case:
 *   most greylisted senders never retry);
 * - `greylisting, retry too early`: the same for a pending triplet (`blocked_count + 1`);
 * - `greylisting, passed client`: `loadContext` (the client has passed) then `refreshPassed`;
 * - `wblist lookup`: `wblist.lookup`, inbound and outbound at once;
 * - `throttle consume`: `consume` of one per-user counter against a limit.
 *
 * The greylisting tables hold what a busy iRedMail server has: 3,000 generated networks under `@.` (the
 * whitelist domains' SPF records), 200 manual whitelists, 1,000 passed clients and 20,000 pending triplets.
 * Each cell reports ops/s, p50 and p99 latency, and the SQL statements sent per operation.
 *
 * Run standalone: `npx node bench/stores.ts [--duration 2000] [--warmup 300] [--callers 32] [--rounds 2]`
 * (about 75 s with the defaults; each cell is run `rounds` times and the best run kept). MariaDB and
 * PostgreSQL are used when reachable at POLICYD_TEST_MYSQL_URL / POLICYD_TEST_PG_URL (defaults: the local
 * servers, as in the test harness); an unreachable one is skipped with a message. The script bundles itself
 * with esbuild first, so the stores' own `@policyd/core` imports resolve to source.
 */

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import type { GreylistAttemptTimes, GreylistContextQuery } from '../packages/core/src/index.ts';
import type { KnexStorage } from '../packages/storage-knex/src/storage.ts';
import { GREYLISTING_TRACKING } from '../packages/storage-knex/src/tables.ts';
import { runBundled } from './lib/bundle.ts';
import { adminKnex, serverConnection } from './lib/server-database.ts';

/** Options of {@link benchStores}. */
export interface StoresBenchOptions {
  /** Measured time per cell, in milliseconds. */
  readonly durationMs: number;
  /** Unmeasured time before it. */
  readonly warmupMs: number;
  /** Concurrent callers. */
  readonly callers: number;
  /** Runs per cell; the best (highest ops/s, the least disturbed by other load) is kept. */
  readonly rounds: number;
}

/** One measured cell: an operation on a backend. */
export interface StoresBenchRow {
  /** `sqlite`, `mariadb` or `postgres`. */
  readonly backend: string;
  /** What was measured. */
  readonly cell: string;
  /** Completed operations per second. */
  readonly opsPerSec: number;
  /** Median latency of one operation. */
  readonly p50Ms: number;
  /** 99th percentile latency. */
  readonly p99Ms: number;
  /** SQL statements sent per operation (transaction `BEGIN`/`COMMIT` included). */
  readonly statements: number;
}

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const PASSED_CLIENTS = 1000;
const PENDING = 20_000;
const USERS = 1000;

const times = (now: number): GreylistAttemptTimes => ({
  now,
  blockExpiresAt: now + 900 * S,
  unauthExpiresAt: now + 86_400 * S,
  authExpiresAt: now + 30 * 86_400 * S,
});

const user = (i: number): string => `u${i % USERS}@example.com`;
const passedClient = (i: number): string =>
  `198.51.${(i % PASSED_CLIENTS) >> 8}.${(i % PASSED_CLIENTS) & 255}`;
const pendingClient = (i: number): string => `203.0.${(i % PENDING) >> 8}.${(i % PENDING) & 255}`;

/** The candidates the greylisting plugin sends for a request. */
function contextQuery(rcpt: string, sender: string, ip: string, now: number): GreylistContextQuery {
  const domain = sender.slice(sender.indexOf('@') + 1);
  return {
    recipients: [rcpt, '@example.com', '@.com', '@.'],
    senders: [
      sender,
      `@${domain}`,
      `@.${domain}`,
      '@.test',
      '@.',
      ip,
      `${ip.slice(0, ip.lastIndexOf('.'))}.*`,
    ],
    clientAddress: ip,
    clientKey: ip,
    now,
  };
}

/**
 * The stores, loaded on first use: a static import would load `@policyd/core` from its built `dist/` when this
 * file runs unbundled (before it bundles itself), and that may be older than the source.
 */
const storageModule = () => import('../packages/storage-knex/src/open-storage.ts');

async function seed(storage: KnexStorage): Promise<void> {
  const { greylist, throttle, wblist } = storage;
  await greylist.setSetting({ account: '@.', sender: '@.', active: true });
  for (let d = 0; d < 6; d++) {
    await greylist.replaceDomainNetworks(
      `provider${d}.test`,
      Array.from({ length: 500 }, (_, i) => `${10 + d}.${i >> 4}.${(i & 15) * 16}.0/20`),
    );
  }
  for (let i = 0; i < 200; i++)
    await greylist.addWhitelist({ account: user(i), sender: `friend${i}@partner.test` });

  // Tracking rows, written directly: passed clients (one passed triplet each) and pending triplets.
  const { knex } = storage.databases.iredapd;
  const c = GREYLISTING_TRACKING.col;
  const now = T0 / S;
  const row = (sender: string, ip: string, passed: boolean) => ({
    [c.sender]: sender,
    [c.recipient]: 'u0@example.com',
    [c.clientAddress]: ip,
    [c.senderDomain]: 'sender.test',
    [c.rcptDomain]: 'example.com',
    [c.initTime]: now - 3600,
    [c.blockExpired]: passed ? now - 2700 : now + 900,
    [c.recordExpired]: passed ? now + 30 * 86_400 : now + 86_400,
    [c.blockedCount]: 1,
    [c.passed]: passed ? 1 : 0,
  });
  const rows = [
    ...Array.from({ length: PASSED_CLIENTS }, (_, i) => row(`old${i}@sender.test`, passedClient(i), true)),
    ...Array.from({ length: PENDING }, (_, i) => row(`pending${i}@sender.test`, pendingClient(i), false)),
  ];
  for (let i = 0; i < rows.length; i += 250)
    await knex(GREYLISTING_TRACKING.name).insert(rows.slice(i, i + 250));

  for (let i = 0; i < USERS; i += 10) {
    await wblist.add({
      account: user(i),
      direction: 'inbound',
      list: i % 20 === 0 ? 'whitelist' : 'blacklist',
      addresses: [`s${i}@sender.test`, `@spam${i}.test`, `192.0.${i % 256}.0/24`],
    });
  }
  await wblist.add({
    account: '@.',
    direction: 'inbound',
    list: 'blacklist',
    addresses: ['@bad.test', '192.0.2.0/24'],
  });
  await throttle.setSetting({
    account: '@.',
    kind: 'outbound',
    periodSeconds: 3600,
    maxMessages: 1_000_000_000,
  });
}

type Operation = (i: number) => Promise<unknown>;

/** Make sure a cell measures what its name says. */
function expectOutcome<R extends { readonly outcome: string }>(result: R, outcome: string): R {
  if (result.outcome !== outcome) throw new Error(`bench: expected ${outcome}, got ${result.outcome}`);
  return result;
}

async function operations(storage: KnexStorage): Promise<[string, Operation][]> {
  const { greylist, throttle, wblist } = storage;
  const [settings] = await throttle.findSettings([{ kind: 'outbound', accounts: ['@.'] }]);
  const setting = settings?.[0];
  if (setting === undefined) throw new Error('bench: the throttle setting is missing');
  // Each run of a cell gets its own range of new triplets.
  let fresh = 0;
  return [
    [
      'greylisting, new triplet',
      async () => {
        const n = fresh++;
        const sender = `new${n}@sender${n % 50}.test`;
        const ip = `100.${64 + ((n >> 16) % 64)}.${(n >> 8) & 255}.${n & 255}`;
        const context = await greylist.loadContext(contextQuery(user(n), sender, ip, T0));
        if (context.whitelist.length > 0 || context.passedTriplets > 0)
          throw new Error('bench: unexpected context');
        const triplet = {
          sender,
          senderDomain: `sender${n % 50}.test`,
          recipient: user(n),
          recipientDomain: 'example.com',
          clientKey: ip,
        };
        return expectOutcome(await greylist.recordAttempt(triplet, times(T0)), 'new');
      },
    ],
    [
      'greylisting, retry too early',
      async (i) => {
        const ip = pendingClient(i);
        await greylist.loadContext(
          contextQuery('u0@example.com', `pending${i % PENDING}@sender.test`, ip, T0),
        );
        const triplet = {
          sender: `pending${i % PENDING}@sender.test`,
          senderDomain: 'sender.test',
          recipient: 'u0@example.com',
          recipientDomain: 'example.com',
          clientKey: ip,
        };
        return expectOutcome(await greylist.recordAttempt(triplet, times(T0)), 'too-early');
      },
    ],
    [
      'greylisting, passed client',
      async (i) => {
        const ip = passedClient(i);
        const context = await greylist.loadContext(contextQuery(user(i), `x${i}@sender.test`, ip, T0));
        if (context.passedTriplets === 0) throw new Error('bench: the client should have passed');
        return greylist.refreshPassed(ip, T0 + 30 * 86_400 * S);
      },
    ],
    [
      'wblist lookup',
      (i) =>
        wblist.lookup({
          inbound: {
            accounts: [user(i * 7), '@example.com', '@.com', '@.'],
            senders: [
              `s${i % 2000}@sender.test`,
              '@sender.test',
              '@.sender.test',
              '@.test',
              '@.',
              `192.0.${i % 256}.9`,
            ],
            clientAddress: `192.0.${i % 256}.9`,
          },
          outbound: {
            accounts: [user(i * 7), '@example.com', '@.'],
            recipients: [`x${i}@other.test`, '@other.test', '@.other.test', '@.test', '@.'],
            clientAddress: `192.0.${i % 256}.9`,
          },
        }),
    ],
    [
      'throttle consume',
      (i) =>
        throttle.consume(
          [
            {
              settingId: setting.id,
              trackingAccount: user(i * 7),
              periodSeconds: setting.periodSeconds,
              messages: 1,
              bytes: 10_000,
              maxMessages: setting.maxMessages,
            },
          ],
          T0 + (i % 1000) * S,
        ),
    ],
  ];
}

async function measure(
  knex: Knex,
  run: Operation,
  options: StoresBenchOptions,
): Promise<Omit<StoresBenchRow, 'backend' | 'cell'>> {
  let counter = 0;
  const loop = async (until: number, latencies: number[] | undefined) => {
    while (performance.now() < until) {
      const started = performance.now();
      await run(counter++);
      latencies?.push(performance.now() - started);
    }
  };
  const warmEnd = performance.now() + options.warmupMs;
  await Promise.all(Array.from({ length: options.callers }, () => loop(warmEnd, undefined)));
  let statements = 0;
  const count = () => statements++;
  knex.on('query', count);
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + options.durationMs;
  try {
    await Promise.all(Array.from({ length: options.callers }, () => loop(end, latencies)));
  } finally {
    knex.removeListener('query', count);
  }
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    opsPerSec: (latencies.length / elapsed) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    statements: latencies.length === 0 ? 0 : statements / latencies.length,
  };
}

interface Backend {
  readonly name: string;
  open(): Promise<{ storage: KnexStorage; drop(): Promise<void> }>;
}

function serverBackend(name: string, client: 'mysql' | 'pg', env: string, fallback: string): Backend {
  return {
    name,
    async open() {
      const url = new URL(process.env[env] ?? fallback);
      const settings = serverConnection(client, url);
      const admin = await adminKnex(client, url);
      const database = `policyd_bench_stores_${process.pid}`;
      const q = client === 'mysql' ? `\`${database}\`` : `"${database}"`;
      try {
        await admin.raw(
          client === 'mysql'
            ? `CREATE DATABASE ${q} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`
            : `CREATE DATABASE ${q}`,
        );
      } catch (err) {
        await admin.destroy();
        throw err;
      }
      const { openStorage } = await storageModule();
      const storage = await openStorage({
        client,
        iredapd: { ...settings, database },
        migrate: true,
        pool: { max: 10 },
      });
      return {
        storage,
        async drop() {
          await storage.close();
          await admin.raw(client === 'mysql' ? `DROP DATABASE ${q}` : `DROP DATABASE ${q} WITH (FORCE)`);
          await admin.destroy();
        },
      };
    },
  };
}

/** Measure every cell on every reachable backend. */
export async function benchStores(
  options: StoresBenchOptions,
  progress: (line: string) => void = () => {},
): Promise<StoresBenchRow[]> {
  const file = join(tmpdir(), `policyd-bench-stores-${process.pid}.sqlite`);
  const backends: Backend[] = [
    {
      name: 'sqlite',
      async open() {
        const { openStorage } = await storageModule();
        const storage = await openStorage({ client: 'sqlite', filename: file });
        return {
          storage,
          async drop() {
            await storage.close();
            for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
          },
        };
      },
    },
    serverBackend('mariadb', 'mysql', 'POLICYD_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
    serverBackend('postgres', 'pg', 'POLICYD_TEST_PG_URL', 'postgres://postgres@127.0.0.1:5432/test'),
  ];
  const rows: StoresBenchRow[] = [];
  for (const backend of backends) {
    let opened: Awaited<ReturnType<Backend['open']>>;
    try {
      opened = await backend.open();
    } catch (err) {
      progress(
        `${backend.name}: skipped, not reachable (${err instanceof Error ? err.message : String(err)})`,
      );
      continue;
    }
    try {
      await seed(opened.storage);
      const { knex } = opened.storage.databases.iredapd;
      for (const [cell, run] of await operations(opened.storage)) {
        let result = await measure(knex, run, options);
        for (let round = 1; round < options.rounds; round++) {
          const again = await measure(knex, run, options);
          if (again.opsPerSec > result.opsPerSec) result = again;
        }
        rows.push({ backend: backend.name, cell, ...result });
        progress(
          `${backend.name} ${cell}: ${Math.round(result.opsPerSec)} ops/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.statements.toFixed(2)} statements/op`,
        );
      }
    } finally {
      await opened.drop();
    }
  }
  return rows;
}

/** The rows as a Markdown table. */
export function formatStoresReport(rows: readonly StoresBenchRow[], options: StoresBenchOptions): string {
  return [
    `${options.callers} concurrent callers, ${options.durationMs} ms per cell after ${options.warmupMs} ms warm-up, best of ${options.rounds}.`,
    '',
    '| backend | operation | ops/s | p50 ms | p99 ms | statements/op |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.backend} | ${r.cell} | ${Math.round(r.opsPerSec)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.statements.toFixed(2)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '300' },
      callers: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const options = {
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
    callers: Number(values.callers),
    rounds: Math.max(1, Number(values.rounds)),
  };
  const rows = await benchStores(options, (line) => console.error(line));
  console.log(
    `# policyd SQL stores benchmark\n\nNode ${process.version}\n\n${formatStoresReport(rows, options)}`,
  );
}

// Run as `.ts`: bundle first, so that the packages' own `@policyd/core` imports resolve to source like ours.
await runBundled(import.meta.url, 'stores', main);
