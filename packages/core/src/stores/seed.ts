/**
 * Raw rows for tests: what an existing iRedMail/iRedAPD database may contain but the store APIs never write
 * (other priorities, `wb` values other than `W`/`B`, mixed-case values, vmail domains). Memory stores accept
 * them through their `seed` method; a SQL store's test harness inserts them as rows. Values are stored
 * verbatim, without validation or lower-casing.
 */

import type { GreylistWhitelistSource } from './greylist-store.ts';
import type { WblistDirection } from './wblist-store.ts';

/** `vmail.domain` and `vmail.alias_domain` rows. */
export interface DomainSeed {
  /** `domain` rows; `active` defaults to true, `backupMx` to false. */
  readonly domains?: readonly {
    readonly domain: string;
    readonly active?: boolean;
    readonly backupMx?: boolean;
  }[];
  /** `alias_domain` rows; `active` defaults to true (it is never checked). */
  readonly aliasDomains?: readonly {
    readonly aliasDomain: string;
    readonly targetDomain: string;
    readonly active?: boolean;
  }[];
}

/** `amavisd` rows. */
export interface WblistSeed {
  /** `users` rows (local accounts). */
  readonly accounts?: readonly { readonly account: string; readonly priority: number }[];
  /** `mailaddr` rows (the other side). */
  readonly addresses?: readonly { readonly address: string; readonly priority: number }[];
  /**
   * `wblist` (inbound) and `outbound_wblist` (outbound) rows. A missing `users` or `mailaddr` row is created
   * with the column default priority 7.
   */
  readonly entries?: readonly {
    readonly direction: WblistDirection;
    readonly account: string;
    readonly address: string;
    readonly wb: string;
  }[];
}

/** `iredapd` greylisting rows. */
export interface GreylistSeed {
  /** `greylisting` rows; `active` is the raw column value (1 = on). */
  readonly settings?: readonly {
    readonly account: string;
    readonly priority: number;
    readonly sender: string;
    readonly senderPriority: number;
    readonly active: number;
    readonly comment?: string;
  }[];
  /** `greylisting_whitelists` (`manual`) and `greylisting_whitelist_domain_spf` (`spf`) rows. */
  readonly whitelists?: readonly {
    readonly account: string;
    readonly sender: string;
    readonly comment?: string;
    readonly source: GreylistWhitelistSource;
  }[];
}
