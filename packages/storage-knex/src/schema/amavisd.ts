/**
 * The `amavisd` database: the white/blacklist tables of iRedMail's amavisd schema (`users`, `mailaddr`,
 * `wblist`, `outbound_wblist`). Amavisd's other tables (`policy`, `maddr`, `msgs` …) are not created: the
 * stores do not use them, and `users.policy_id` has no foreign key.
 */

import { MAILADDR, OUTBOUND_WBLIST, USERS, WBLIST } from '../tables.ts';
import type { TableSpec } from './spec.ts';
import { BINARY_255, INT_ID, INTEGER, varchar } from './types.ts';

function listTable(name: string, col: { rid: string; sid: string; wb: string }): TableSpec {
  return {
    name,
    columns: [
      { name: col.rid, type: INT_ID, pgCheck: `${col.rid} >= 0` },
      { name: col.sid, type: INT_ID, pgCheck: `${col.sid} >= 0` },
      { name: col.wb, type: varchar(10) },
    ],
    primaryKey: [col.rid, col.sid],
  };
}

/** Every `amavisd` table the stores use, in creation order. */
export const AMAVISD_TABLES: readonly TableSpec[] = [
  {
    name: USERS.name,
    columns: [
      { name: USERS.col.id, type: 'auto-int-id' },
      { name: USERS.col.priority, type: INTEGER, default: 7 },
      { name: USERS.col.policyId, type: INT_ID, default: 1, pgCheck: `${USERS.col.policyId} >= 0` },
      { name: USERS.col.email, type: BINARY_255 },
      { name: USERS.col.fullname, type: varchar(255), nullable: true, default: { sql: 'NULL' } },
    ],
    indexes: [{ name: 'users_email_key', columns: [USERS.col.email], unique: true }],
  },
  {
    name: MAILADDR.name,
    columns: [
      { name: MAILADDR.col.id, type: 'auto-int-id' },
      { name: MAILADDR.col.priority, type: INTEGER, default: 7 },
      { name: MAILADDR.col.email, type: BINARY_255 },
    ],
    indexes: [{ name: 'mailaddr_email_key', columns: [MAILADDR.col.email], unique: true }],
  },
  listTable(WBLIST.name, WBLIST.col),
  listTable(OUTBOUND_WBLIST.name, OUTBOUND_WBLIST.col),
];
