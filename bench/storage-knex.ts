/**
 * Store-level benchmark of @policyd/storage-knex: operations per second and latency of the SQL stores' decision
 * paths, with 32 concurrent callers, per backend (SQLite always; MariaDB and PostgreSQL when reachable at
 * POLICYD_TEST_MYSQL_URL / POLICYD_TEST_PG_URL, defaults as in the test harness). No plugins: this measures the
 * stores and the database.
 *
 * Paths measured (each a sequence of store calls, as the plugins make them):
 * - `domains`: `lookupDomains` of 3 domains (1 round trip);
 * - `wblist lookup`: `lookupDomains`, then `wblist.lookup` with both directions and a client IP (2);
 * - `greylisting`: `lookupDomains` ‖ `greylist.loadContext`, then `recordAttempt` (2; new and retried triplets);
 * - `throttle consume`: `lookupDomains` ‖ `throttle.findSettings`, then `consume` of one counter (2).
 *
 * Run standalone: `npx node bench/storage-knex.ts [--duration 2000] [--warmup 300] [--callers 32]`. It bundles
 * itself with esbuild first (as bench/wblist.ts does), so the `@policyd/*` imports come from source.
 */

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KnexStorage } from '../packages/storage-knex/src/storage.ts';
import { runBundled } from './lib/bundle.ts';
import { adminKnex, serverConnection } from './lib/server-database.ts';

/** Options of {@link benchStorageKnex}. */
export interface StorageBenchOptions {
  /** Measured time per path, in milliseconds. */
  readonly durationMs: number;
  /** Unmeasured time before it. */
  readonly warmupMs: number;
  /** Concurrent callers. */
  readonly callers: number;
}

/** One measured cell: a path on a backend. */
export interface StorageBenchRow {
  readonly backend: string;
  readonly path: string;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const USERS = 1000;
const DOMAINS = 10;
const T0 = Date.UTC(2026, 0, 1);

async function seed(storage: KnexStorage): Promise<void> {
  const vmail = storage.databases.vmail.knex;
  for (let d = 0; d < DOMAINS; d++) {
    await vmail('domain').insert({ domain: `d${d}.example`, active: 1, backupmx: 0 });
  }
  await vmail('alias_domain').insert({
    alias_domain: 'alias.example',
    target_domain: 'd0.example',
    active: 1,
  });
  for (let u = 0; u < USERS; u += 10) {
    await storage.wblist.add({
      account: `u${u}@d${u % DOMAINS}.example`,
      direction: 'inbound',
      list: u % 20 === 0 ? 'whitelist' : 'blacklist',
      addresses: [`s${u}@sender.test`, `@spam${u}.test`, `198.51.${u % 256}.0/24`],
    });
  }
  for (let d = 0; d < DOMAINS; d++) {
    await storage.wblist.add({
      account: `@d${d}.example`,
      direction: 'inbound',
      list: 'blacklist',
      addresses: [`203.0.113.${d}`],
    });
  }
  await storage.wblist.add({
    account: '@.',
    direction: 'inbound',
    list: 'blacklist',
    addresses: ['192.0.2.0/24', '@bad.test'],
  });
  await storage.greylist.setSetting({ account: '@.', sender: '@.', active: true });
  await storage.greylist.addWhitelist({ account: '@.', sender: '@friend.test' });
  await storage.greylist.replaceDomainNetworks(
    'provider.test',
    Array.from({ length: 500 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
  );
  await storage.throttle.setSetting({
    account: '@.',
    kind: 'outbound',
    periodSeconds: 3600,
    maxMessages: 1_000_000,
  });
}

async function measure(
  run: (i: number) => Promise<unknown>,
  options: StorageBenchOptions,
): Promise<{ opsPerSec: number; p50Ms: number; p99Ms: number }> {
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
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + options.durationMs;
  await Promise.all(Array.from({ length: options.callers }, () => loop(end, latencies)));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { opsPerSec: (latencies.length / elapsed) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) };
}

function paths(storage: KnexStorage): [string, (i: number) => Promise<unknown>][] {
  const user = (i: number) => `u${(i * 7) % USERS}@d${((i * 7) % USERS) % DOMAINS}.example`;
  const domainOf = (address: string) => address.slice(address.indexOf('@') + 1);
  const client = (i: number) => `198.51.${i % 256}.${(i >> 8) % 250}`;
  return [
    ['domains', (i) => storage.domains.lookupDomains([domainOf(user(i)), 'sender.test', 'alias.example'])],
    [
      'wblist lookup',
      async (i) => {
        const rcpt = user(i);
        const domain = domainOf(rcpt);
        await storage.domains.lookupDomains([domain, 'sender.test']);
        return storage.wblist.lookup({
          inbound: {
            accounts: [rcpt, `@${domain}`, '@.example', '@.'],
            senders: [`s${i % 2000}@sender.test`, '@sender.test', '@.sender.test', '@.test', '@.', client(i)],
            clientAddress: client(i),
          },
          outbound: {
            accounts: [rcpt, `@${domain}`, '@.'],
            recipients: [`x${i}@other.test`, '@other.test', '@.'],
            clientAddress: client(i),
          },
        });
      },
    ],
    [
      'greylisting',
      async (i) => {
        const rcpt = user(i);
        const domain = domainOf(rcpt);
        const sender = `s${i % 3000}@sender.test`;
        const ip = client(i % 5000);
        const now = T0 + Math.floor(i / 1000) * 1000;
        await Promise.all([
          storage.domains.lookupDomains([domain]),
          storage.greylist.loadContext({
            recipients: [rcpt, `@${domain}`, '@.example', '@.'],
            senders: [sender, '@sender.test', '@.sender.test', '@.test', '@.', ip],
            clientAddress: ip,
            clientKey: ip,
            now,
          }),
        ]);
        return storage.greylist.recordAttempt(
          { sender, senderDomain: 'sender.test', recipient: rcpt, recipientDomain: domain, clientKey: ip },
          {
            now,
            blockExpiresAt: now + 300_000,
            unauthExpiresAt: now + 86_400_000,
            authExpiresAt: now + 30 * 86_400_000,
          },
        );
      },
    ],
    [
      'throttle consume',
      async (i) => {
        const sender = user(i);
        const [, settings] = await Promise.all([
          storage.domains.lookupDomains([domainOf(sender)]),
          storage.throttle.findSettings([
            { kind: 'outbound', accounts: [sender, `@${domainOf(sender)}`, '@.'] },
          ]),
        ]);
        const setting = settings[0]?.[0];
        if (setting === undefined) throw new Error('no throttle setting');
        return storage.throttle.consume(
          [
            {
              settingId: setting.id,
              trackingAccount: sender,
              periodSeconds: setting.periodSeconds,
              messages: 1,
              bytes: 10_000,
              maxMessages: setting.maxMessages,
            },
          ],
          T0 + i,
        );
      },
    ],
  ];
}

interface Backend {
  readonly name: string;
  open(): Promise<{ storage: KnexStorage; drop(): Promise<void> }>;
}

function serverBackend(
  openStorage: typeof import('../packages/storage-knex/src/index.ts').openStorage,
  name: string,
  client: 'mysql' | 'pg',
  env: string,
  fallback: string,
): Backend {
  const url = new URL(process.env[env] ?? fallback);
  const settings = serverConnection(client, url);
  return {
    name,
    async open() {
      const database = `policyd_bench_${process.pid}`;
      const a = await adminKnex(client, url);
      const q = client === 'mysql' ? `\`${database}\`` : `"${database}"`;
      await a.raw(`CREATE DATABASE ${q}`);
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
          await a.raw(client === 'mysql' ? `DROP DATABASE ${q}` : `DROP DATABASE ${q} WITH (FORCE)`);
          await a.destroy();
        },
      };
    },
  };
}

/** Measure every path on every reachable backend. */
export async function benchStorageKnex(
  options: StorageBenchOptions,
  progress: (line: string) => void = () => {},
): Promise<StorageBenchRow[]> {
  // Loaded here, not at the top: run unbundled, this file only bundles itself and must not load the stores.
  const { openStorage } = await import('../packages/storage-knex/src/index.ts');
  const file = join(tmpdir(), `policyd-bench-${process.pid}.sqlite`);
  const backends: Backend[] = [
    {
      name: 'sqlite',
      async open() {
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
    serverBackend(
      openStorage,
      'mariadb',
      'mysql',
      'POLICYD_TEST_MYSQL_URL',
      'mysql://root@127.0.0.1:3306/test',
    ),
    serverBackend(
      openStorage,
      'postgres',
      'pg',
      'POLICYD_TEST_PG_URL',
      'postgres://postgres@127.0.0.1:5432/test',
    ),
  ];
  const rows: StorageBenchRow[] = [];
  for (const backend of backends) {
    let opened: Awaited<ReturnType<Backend['open']>>;
    try {
      opened = await backend.open();
    } catch (err) {
      progress(`${backend.name}: skipped (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    try {
      await seed(opened.storage);
      for (const [path, run] of paths(opened.storage)) {
        const result = await measure(run, options);
        rows.push({ backend: backend.name, path, ...result });
        progress(
          `${backend.name} ${path}: ${Math.round(result.opsPerSec)} ops/s, p99 ${result.p99Ms.toFixed(2)} ms`,
        );
      }
    } finally {
      await opened.drop();
    }
  }
  return rows;
}

/** The rows as a Markdown table. */
export function formatStorageReport(rows: readonly StorageBenchRow[], options: StorageBenchOptions): string {
  const lines = [
    `${options.callers} concurrent callers, ${options.durationMs} ms per cell.`,
    '',
    '| backend | path | ops/s | p50 ms | p99 ms |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.backend} | ${r.path} | ${Math.round(r.opsPerSec)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '300' },
      callers: { type: 'string', default: '32' },
    },
  });
  const options = {
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
    callers: Number(values.callers),
  };
  const rows = await benchStorageKnex(options, (line) => console.error(line));
  console.log(
    `# policyd storage-knex benchmark\n\nNode ${process.version}\n\n${formatStorageReport(rows, options)}`,
  );
}

// Run as `.ts`: bundle first, so that the packages' own `@policyd/core` imports resolve to source like ours.
await runBundled(import.meta.url, 'storage-knex', main, {
  // Applied before `packages: 'external'`: the stores' `@policyd/core` imports come from source too.
  alias: { '@policyd/core': fileURLToPath(new URL('../packages/core/src/index.ts', import.meta.url)) },
});
