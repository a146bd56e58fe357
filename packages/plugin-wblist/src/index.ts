/**
 * `@policyd/plugin-wblist`: iRedAPD's `amavisd_wblist` plugin (per-user, per-domain and server-wide white- and
 * blacklists from iRedMail's `amavisd` database, inbound and outbound) and the admin API of
 * `wblist_admin.py`.
 *
 * @example
 * ```ts
 * import { createMemoryStores, createPolicy, createServer } from '@policyd/core';
 * import { createWblistAdmin, wblist } from '@policyd/plugin-wblist';
 *
 * const stores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
 * await createWblistAdmin(stores.wblist).add({ list: 'blacklist', addresses: ['192.0.2.66'] });
 * const policy = await createPolicy({ plugins: [wblist({ store: stores.wblist, domains: stores.domains })] });
 * await createServer(policy).listen({ host: '127.0.0.1', port: 7777 });
 * ```
 *
 * @packageDocumentation
 */

export type {
  WblistAdmin,
  WblistAdminChange,
  WblistAdminChangeResult,
  WblistAdminDeleteAllResult,
  WblistAdminListing,
  WblistAdminListQuery,
  WblistAdminTarget,
} from './admin.ts';
export {
  createWblistAdmin,
  WBLIST_ACCOUNT_TYPES,
  WBLIST_RECIPIENT_TYPES,
  WBLIST_SENDER_TYPES,
} from './admin.ts';
export { BLACKLISTED_TEXT, DISCARD_TEXT } from './decide.ts';
export type { ResolvedWblistOptions, WblistCacheOptions, WblistOptions } from './options.ts';
export { DEFAULT_WBLIST_CACHE, resolveWblistOptions } from './options.ts';
export { WBLIST_PLUGIN_NAME, WBLIST_PLUGIN_PRIORITY, wblist } from './plugin.ts';
