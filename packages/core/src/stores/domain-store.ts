/**
 * The mail domains this server hosts: iRedMail's `vmail.domain` and `vmail.alias_domain`, read-only.
 */

/** What the store knows about one domain. */
export interface DomainInfo {
  /** A `domain` row exists for it with `active = 1` (backup-MX domains included). */
  readonly local: boolean;
  /** It is {@link local} and its row has `backupmx = 1`. */
  readonly backupMx: boolean;
  /**
   * When it is an alias domain whose target domain is local (an active `domain` row): the target domain.
   * The alias row's own `active` column is not checked, as in iRedAPD.
   */
  readonly aliasTarget?: string;
}

/**
 * Read-only view of the hosted domains, used for alias-domain expansion and "is this domain local" checks by
 * the wblist, greylisting and throttle plugins.
 *
 * Round trips: one per call, whatever the number of domains (the SQL form is one `UNION ALL` over `domain`
 * and `alias_domain` with `IN (…)`). A plugin asks once per request for every domain it needs (sender,
 * recipient, SASL login). The wblist plugin needs the answer before its look-up (one of its two round trips);
 * greylisting and throttle can issue it concurrently with their first store call (with the candidates that do
 * not depend on alias targets), so it adds no sequential round trip unless a domain turns out to be an alias.
 *
 * The host-name rule of iRedAPD's `is_local_domain` (the server's own short host name counts as local) is not
 * the store's business: plugins apply it.
 */
export interface DomainStore {
  /**
   * Look up domains. Input values are lower-cased; the result has one entry per distinct input, keyed by the
   * lower-cased value, including unknown domains (`{ local: false, backupMx: false }`). An empty input gives an
   * empty map without touching the database.
   *
   * @throws PolicydError `POLICYD_ERR_STORE` when the database fails
   */
  lookupDomains(domains: readonly string[]): Promise<ReadonlyMap<string, DomainInfo>>;
}
