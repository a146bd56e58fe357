/**
 * {@link DomainStore} on iRedMail's `vmail.domain` and `vmail.alias_domain`.
 *
 * Round trips: one per `lookupDomains` call, whatever the number of domains: a `UNION ALL` of the active
 * `domain` rows and the `alias_domain` rows whose target is an active domain, both filtered with `IN (…)`.
 * Names are compared exactly in code as well, because MySQL's `VARCHAR` comparison ignores case.
 */

import type { DomainInfo, DomainStore } from '@policyd/core';
import type { SqlDatabase } from './sql.ts';
import { intOf, textOf } from './sql.ts';
import { withStoreErrors } from './store-error.ts';
import { ALIAS_DOMAIN, DOMAIN } from './tables.ts';

interface DomainRow {
  readonly kind: string;
  readonly name: unknown;
  readonly backupmx: unknown;
  readonly target: unknown;
}

/**
 * Create the domain store on the `vmail` database.
 *
 * @example
 * ```ts
 * const domains = createKnexDomainStore({ knex, dialect: 'pg' });
 * (await domains.lookupDomains(['example.com'])).get('example.com'); // { local: true, backupMx: false }
 * ```
 */
export function createKnexDomainStore(db: SqlDatabase): DomainStore {
  const D = DOMAIN.col;
  const A = ALIAS_DOMAIN.col;
  return {
    lookupDomains: (domains) =>
      withStoreErrors('domains.lookupDomains', async () => {
        const wanted = [...new Set(domains.map((domain) => String(domain).toLowerCase()))];
        const result = new Map<string, DomainInfo>();
        if (wanted.length === 0) return result;
        const { knex } = db;
        const local = knex(DOMAIN.name)
          .select(
            knex.raw(`'d' as kind`),
            knex.ref(D.domain).as('name'),
            knex.ref(D.backupmx).as('backupmx'),
            knex.raw('NULL as target'),
          )
          .whereIn(D.domain, wanted)
          .andWhere(D.active, 1);
        const aliases = knex({ a: ALIAS_DOMAIN.name })
          .join({ t: DOMAIN.name }, `t.${D.domain}`, `a.${A.targetDomain}`)
          .select(
            knex.raw(`'a' as kind`),
            knex.ref(`a.${A.aliasDomain}`).as('name'),
            knex.raw('0 as backupmx'),
            knex.ref(`t.${D.domain}`).as('target'),
          )
          .whereIn(`a.${A.aliasDomain}`, wanted)
          .andWhere(`t.${D.active}`, 1);
        const rows = (await local.unionAll(aliases)) as DomainRow[];

        const found = new Map<string, { backupMx: boolean } | undefined>();
        const targets = new Map<string, string>();
        for (const row of rows) {
          const name = textOf(row.name);
          if (row.kind === 'd') found.set(name, { backupMx: intOf(row.backupmx) === 1 });
          else targets.set(name, textOf(row.target));
        }
        for (const domain of wanted) {
          const row = found.get(domain);
          const info: DomainInfo = { local: row !== undefined, backupMx: row?.backupMx === true };
          const target = targets.get(domain);
          result.set(domain, target === undefined ? info : { ...info, aliasTarget: target });
        }
        return result;
      }),
  };
}
