/**
 * The `vmail` database: iRedMail's `domain` and `alias_domain`, with the columns the stores read (and their
 * keys and indexes). Pointed at an existing iRedMail database, the stores read its full tables; these specs
 * only matter for a fresh database (SQLite, tests, a server without iRedMail).
 */

import { ALIAS_DOMAIN, DOMAIN } from '../tables.ts';
import type { TableSpec } from './spec.ts';
import { FLAG, varchar } from './types.ts';

/** Every `vmail` table the stores read, in creation order. */
export const VMAIL_TABLES: readonly TableSpec[] = [
  {
    name: DOMAIN.name,
    columns: [
      { name: DOMAIN.col.domain, type: varchar(255), default: '' },
      { name: DOMAIN.col.backupmx, type: FLAG, default: 0 },
      { name: DOMAIN.col.active, type: FLAG, default: 1 },
    ],
    primaryKey: [DOMAIN.col.domain],
    indexes: [
      { name: 'idx_domain_backupmx', columns: [DOMAIN.col.backupmx] },
      { name: 'idx_domain_active', columns: [DOMAIN.col.active] },
    ],
  },
  {
    name: ALIAS_DOMAIN.name,
    columns: [
      { name: ALIAS_DOMAIN.col.aliasDomain, type: varchar(255) },
      { name: ALIAS_DOMAIN.col.targetDomain, type: varchar(255) },
      { name: ALIAS_DOMAIN.col.active, type: FLAG, default: 1 },
    ],
    primaryKey: [ALIAS_DOMAIN.col.aliasDomain],
    indexes: [
      { name: 'idx_alias_domain_target_domain', columns: [ALIAS_DOMAIN.col.targetDomain] },
      { name: 'idx_alias_domain_active', columns: [ALIAS_DOMAIN.col.active] },
    ],
  },
];
