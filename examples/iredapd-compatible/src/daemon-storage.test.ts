import { join } from 'node:path';
import { silentLogger } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { IREDAPD_EXTENSION_COLUMNS } from '../../../packages/storage-knex/src/schema/iredapd.ts';
import { describeEachBackend } from '../../../packages/storage-knex/test/backends.ts';
import { iredmailDdl } from '../../../packages/storage-knex/test/iredmail-ddl.ts';
import { policyClient, startTestDaemon, type TempDir, tempDir } from '../test/support/daemon-harness.ts';
import { classifyMissing, openDaemonStorage, requiredTables } from './daemon-storage.ts';
import { explainRequest } from './explain.ts';
import { defaultSettings, parseSettings } from './settings/load-settings.ts';

describe('requiredTables', () => {
  it('lists the tables of the enabled plugins, the vmail tables they use, and smtp_sessions', () => {
    const { config } = defaultSettings();
    expect([...requiredTables(config, new Set())].sort()).toEqual([
      'amavisd.mailaddr',
      'amavisd.outbound_wblist',
      'amavisd.users',
      'amavisd.wblist',
      'iredapd.greylisting',
      'iredapd.greylisting_tracking',
      'iredapd.greylisting_whitelist_domain_spf',
      'iredapd.greylisting_whitelists',
      'iredapd.smtp_sessions',
      'iredapd.throttle',
      'iredapd.throttle_tracking',
      'vmail.alias_domain',
      'vmail.domain',
    ]);
  });

  it('leaves out disabled databases and smtp_sessions when it is off', () => {
    const { config } = parseSettings(
      "backend = 'sqlite'\nplugins = ['throttle']\nLOG_SMTP_SESSIONS = False\n",
      {
        file: 'settings.py',
        format: 'python',
      },
    );
    expect([...requiredTables(config, new Set(['vmail']))].sort()).toEqual([
      'iredapd.throttle',
      'iredapd.throttle_tracking',
    ]);
    expect([...requiredTables(config, new Set(['iredapd']))]).toEqual(['vmail.domain', 'vmail.alias_domain']);
  });
});

describe('classifyMissing', () => {
  it('stops for needed tables and their columns, but not for optional columns or unused tables', () => {
    const needed = new Set(['iredapd.throttle', 'iredapd.throttle_tracking']);
    expect(
      classifyMissing(
        [
          'iredapd.senderscore_cache',
          'iredapd.throttle.max_rcpts',
          'iredapd.throttle_tracking',
          'iredapd.throttle_tracking.prev_msgs',
          'iredapd.throttle_tracking.prev_quota',
        ],
        needed,
      ),
    ).toEqual({
      fatal: ['iredapd.throttle.max_rcpts', 'iredapd.throttle_tracking'],
      other: [
        'iredapd.senderscore_cache',
        'iredapd.throttle_tracking.prev_msgs',
        'iredapd.throttle_tracking.prev_quota',
      ],
    });
  });
});

describe('optional columns', () => {
  it("treats every one of storage-knex's extension columns as optional (iRedMail databases lack them)", () => {
    const columns = IREDAPD_EXTENSION_COLUMNS.map((e) => `iredapd.${e.table}.${e.column.name}`);
    const needed = new Set(IREDAPD_EXTENSION_COLUMNS.map((e) => `iredapd.${e.table}`));
    expect(columns.length).toBeGreaterThan(0);
    expect(classifyMissing(columns, needed)).toEqual({ fatal: [], other: columns });
  });
});

describe('openDaemonStorage', () => {
  // A domain added to vmail while the daemon runs: seen at once with domain_cache_seconds = 0, only after the
  // cached "not hosted" answer expires otherwise.
  it.each([
    [30, false],
    [0, true],
  ])('caches vmail domain look-ups for domain_cache_seconds = %i', async (seconds, seenAtOnce) => {
    const dir = await tempDir();
    try {
      const { config } = parseSettings(
        `backend = 'sqlite'\nplugins = ['greylisting']\ndomain_cache_seconds = ${seconds}\n`,
        { file: join(dir.path, 'settings.py'), format: 'python', baseDir: dir.path, dataDir: dir.path },
      );
      expect(config.storage.domainCacheTtlMs).toBe(seconds * 1000);
      const storage = await openDaemonStorage(config, { logger: silentLogger });
      try {
        const local = async () =>
          (await storage.stores.domains.lookupDomains(['new.test'])).get('new.test')?.local;
        expect(await local()).toBe(false);
        await storage
          .sql!.databases.vmail.knex('domain')
          .insert({ domain: 'new.test', backupmx: 0, active: 1 });
        expect(await local()).toBe(seenAtOnce);
      } finally {
        await storage.close();
      }
    } finally {
      await dir.remove();
    }
  });
});

describe('openDaemonStorage, generated whitelist networks', () => {
  // A network iRedAPD's cron job adds while the daemon runs: seen at once with
  // greylisting_spf_whitelist_cache_seconds = 0, only after the in-memory copy's TTL otherwise.
  it.each([
    [60, 0],
    [0, 1],
  ])('keeps them in memory for greylisting_spf_whitelist_cache_seconds = %i', async (seconds, matches) => {
    const dir = await tempDir();
    try {
      const { config } = parseSettings(
        `backend = 'sqlite'\nplugins = ['greylisting']\ngreylisting_spf_whitelist_cache_seconds = ${seconds}\n`,
        { file: join(dir.path, 'settings.py'), format: 'python', baseDir: dir.path, dataDir: dir.path },
      );
      const storage = await openDaemonStorage(config, { logger: silentLogger });
      try {
        const query = {
          recipients: ['@.'],
          senders: ['a@example.net'],
          clientAddress: '192.0.2.9',
          clientKey: '192.0.2.9',
          now: Date.now(),
        };
        expect((await storage.stores.greylist.loadContext(query)).whitelist).toEqual([]);
        await storage
          .sql!.databases.iredapd.knex('greylisting_whitelist_domain_spf')
          .insert({ account: '@.', sender: '192.0.2.0/24', comment: 'AUTO-UPDATE: example.org' });
        expect((await storage.stores.greylist.loadContext(query)).whitelist).toHaveLength(matches);
      } finally {
        await storage.close();
      }
    } finally {
      await dir.remove();
    }
  });
});

describeEachBackend(
  'the daemon on an existing iRedMail database',
  (backend) => {
    const kind = backend.dialect === 'mysql' ? 'mysql' : 'pgsql';

    async function iredmail() {
      const storage = await backend.createStorage({ migrate: false, layout: 'separate' });
      for (const db of ['iredapd', 'amavisd', 'vmail'] as const) {
        for (const statement of iredmailDdl(backend.dialect, db))
          await storage.databases[db].knex.raw(statement);
      }
      // iRedAPD disables a database whose password is empty: give the test a user with one.
      let user = backend.settingsFor(storage.names.iredapd).user ?? 'postgres';
      let password = 'policyd';
      if (backend.dialect === 'mysql') {
        user = 'policyd_daemon_test';
        const knex = storage.databases.iredapd.knex;
        for (const host of ['%', 'localhost', '127.0.0.1']) {
          await knex.raw(`CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY '${password}'`);
          for (const name of Object.values(storage.names)) {
            await knex.raw(`GRANT ALL ON \`${name}\`.* TO '${user}'@'${host}'`);
          }
        }
      } else {
        password = 'unused-with-trust-auth';
      }
      const lines = [
        'from libs.default_settings import *',
        `backend = '${kind}'`,
        "plugins = ['greylisting', 'throttle']",
      ];
      for (const db of ['iredapd', 'amavisd', 'vmail'] as const) {
        const s = backend.settingsFor(storage.names[db]);
        lines.push(
          `${db}_db_server = '${s.host ?? '127.0.0.1'}'`,
          `${db}_db_port = '${s.port ?? ''}'`,
          `${db}_db_name = '${storage.names[db]}'`,
          `${db}_db_user = '${user}'`,
          `${db}_db_password = '${password}'`,
        );
      }
      const destroy = async (): Promise<void> => {
        if (backend.dialect === 'mysql') {
          for (const host of ['%', 'localhost', '127.0.0.1']) {
            await storage.databases.iredapd.knex.raw(`DROP USER IF EXISTS '${user}'@'${host}'`);
          }
        }
        await storage.destroy();
      };
      return { storage, settings: `${lines.join('\n')}\n`, destroy };
    }

    let dir: TempDir;

    it('greylists, writes smtp_sessions and explains without writing, leaving the schema as it is', async () => {
      dir = await tempDir();
      const { storage, settings, destroy } = await iredmail();
      const config = await dir.write('settings.py', settings);
      try {
        await storage.greylist.setSetting({ account: '@.', sender: '@.', active: true });
        const t = await startTestDaemon({ config });
        try {
          expect(t.log.lines.find((l) => l.msg.startsWith('database schema: not present'))?.msg).toMatch(
            /iredapd\.throttle_tracking\.prev_msgs/,
          );
          const client = await policyClient(t.port);
          expect(await client.ask({ instance: 'x1' })).toBe(
            '451 4.7.1 Intentional policy rejection, please try again later',
          );
          await t.daemon.flushSmtpSessions();
        } finally {
          await t.stop();
        }
        const knex = storage.databases.iredapd.knex;
        const rows = (await knex('smtp_sessions').select('instance', 'action')) as Record<string, unknown>[];
        expect(rows).toEqual([{ instance: 'x1', action: '451' }]);
        const tracked = async () =>
          Number(((await knex('greylisting_tracking').count({ n: '*' })) as { n: number }[])[0]?.n);
        expect(await tracked()).toBe(1);
        const report = await explainRequest({
          config,
          attributes: new Map([
            ['sender', 'new@sender.test'],
            ['recipient', 'b@example.com'],
            ['client_address', '192.0.2.99'],
          ]),
          dns: {
            resolveTxt: async () => [],
            resolve4: async () => [],
            resolve6: async () => [],
            resolveMx: async () => [],
          },
        });
        expect(report.action).toBe('451 4.7.1 Intentional policy rejection, please try again later');
        expect(report.dryRun).toBe('rolled-back');
        expect(await tracked()).toBe(1);
        expect(await knex.schema.hasTable('policyd_migrations')).toBe(false);
      } finally {
        await destroy();
        await dir.remove();
      }
    });

    it('refuses to start when a table an enabled plugin needs is missing', async () => {
      dir = await tempDir();
      const { storage, settings, destroy } = await iredmail();
      try {
        await storage.databases.iredapd.knex.schema.dropTable('throttle_tracking');
        const config = await dir.write('settings.py', settings);
        await expect(startTestDaemon({ config })).rejects.toThrow(
          /database schema: missing iredapd\.throttle_tracking\. policyd never alters/,
        );
      } finally {
        await destroy();
        await dir.remove();
      }
    });
  },
  { only: ['mariadb', 'postgres'] },
);
