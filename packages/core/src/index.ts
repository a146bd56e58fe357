/**
 * `@policyd/core`: the protocol codec, server, plugin registry and policy, request normalisation,
 * iRedAPD's matching rules, and the store interfaces with in-memory implementations.
 *
 * @example
 * ```ts
 * import { createPolicy, createServer, Decision, definePlugin } from '@policyd/core';
 *
 * const rejectNullSender = definePlugin({
 *   name: 'reject_null_sender',
 *   priority: 100,
 *   check: (req) => (req.sender.address === '' && req.saslUsername.address !== ''
 *     ? Decision.reject('Policy rejection due to null sender') : Decision.dunno()),
 * });
 * const server = createServer(await createPolicy({ plugins: [rejectNullSender] }));
 * await server.listen({ host: '127.0.0.1', port: 10040 }); // main.cf: check_policy_service inet:127.0.0.1:10040
 * ```
 *
 * @packageDocumentation
 */

export type { AccountType, ParsedAccount } from './accounts.ts';
export {
  ACCOUNT_PRIORITIES,
  ACCOUNT_TYPES,
  accountPriority,
  classifyAccount,
  MAILADDR_PRIORITIES,
  mailaddrPriority,
  parseAccount,
} from './accounts.ts';
export { domainOf, isDomain, isEmail, localPartOf, stripExtension } from './address.ts';
export type {
  AttributeField,
  AttributeFieldsOfKind,
  AttributeKind,
  AttributeKindValues,
  AttributeSpec,
  AttributeSpecOfKind,
  PostfixVersion,
} from './attributes.ts';
export { POSTFIX_ATTRIBUTES } from './attributes.ts';
export type { BatchWriter, BatchWriterOptions, BatchWriterOverload } from './batch-writer.ts';
export { createBatchWriter } from './batch-writer.ts';
export type { WildcardIPv4, WildcardIPv4Options, WildcardOctet } from './candidates.ts';
export {
  everyWildcardIPv4,
  matchesWildcardIPv4,
  parseWildcardIPv4,
  policyAddresses,
  wildcardAddress,
  wildcardIPv4,
} from './candidates.ts';
export type { DecodeResult, DecoderLimits, DecoderOptions, RequestDecoder } from './codec.ts';
export { createRequestDecoder, DEFAULT_DECODER_LIMITS, formatResponse, parseRequest } from './codec.ts';
export type {
  ActionName,
  AddressDecision,
  DunnoDecision,
  FilterDecision,
  OkDecision,
  PrependDecision,
  ReplyDecision,
  TextAction,
  TextDecision,
} from './decision.ts';
export { assertDecision, Decision, sanitizeText, toAction } from './decision.ts';
export type { DnsResolver, MxRecord } from './dns.ts';
export type { PolicydErrorCode, PolicydErrorDetails, ProtocolErrorReason } from './errors.ts';
export { isPolicydError, PolicydError } from './errors.ts';
export type { ClientNetworkOptions, IpFamily, IpNetwork, NetworkInspection } from './ip.ts';
export {
  clientNetwork,
  containingNetworks,
  inspectNetwork,
  ipFamily,
  networkContains,
  normalizeIp,
  parseNetwork,
} from './ip.ts';
export type { LogFn, Logger } from './logger.ts';
export { silentLogger } from './logger.ts';
export { mailAddress, toPolicyRequest } from './normalize.ts';
export type { ErrorPolicy, PluginInitContext, PolicyContext, PolicyPlugin } from './plugin.ts';
export { definePlugin } from './plugin.ts';
export type { Evaluation, Policy, PolicyOptions, TraceEntry, TraceOutcome } from './policy.ts';
export { createPolicy } from './policy.ts';
export { DEFAULT_PLUGIN_STATES, describePlugins, PROTOCOL_STATES, sortPlugins } from './registry.ts';
export type { MailAddress, NormalizeOptions, PolicyRequest, ProtocolState } from './request.ts';
export { requestLogFields } from './request-log.ts';
export type { ListenAddress, PolicyServer, ServerOptions } from './server.ts';
export { createServer } from './server.ts';
export type { SessionCacheOptions } from './session-cache.ts';
export type { CleanupOptions, CleanupResult, ResolvedCleanupOptions } from './stores/cleanup.ts';
export { DEFAULT_CLEANUP_BATCH_SIZE, resolveCleanupOptions } from './stores/cleanup.ts';
export type { DomainInfo, DomainStore } from './stores/domain-store.ts';
export type { GreylistAttemptSeconds, ParsedGreylistPair } from './stores/greylist-input.ts';
export {
  firstAttemptState,
  fitsTrackingTable,
  GENERATED_WHITELIST_ACCOUNT,
  GREYLIST_ACCOUNT_TYPES,
  GREYLIST_NETWORK_TYPES,
  GREYLIST_SENDER_TYPES,
  GREYLIST_TRACKING_WIDTHS,
  generatedWhitelistComment,
  parseDomainNetworks,
  parseGreylistAccount,
  parseGreylistAttempt,
  parseGreylistPair,
  parseWhitelistDomain,
} from './stores/greylist-input.ts';
export type {
  GreylistAttemptOutcome,
  GreylistAttemptResult,
  GreylistAttemptTimes,
  GreylistContext,
  GreylistContextQuery,
  GreylistDomainRemoval,
  GreylistFirstAttempt,
  GreylistFirstAttemptsResult,
  GreylistNetworkReplacement,
  GreylistPair,
  GreylistSetting,
  GreylistSettingInput,
  GreylistStore,
  GreylistTriplet,
  GreylistTripletState,
  GreylistWhitelistEntry,
  GreylistWhitelistInput,
  GreylistWhitelistMatch,
  GreylistWhitelistSource,
} from './stores/greylist-store.ts';
export type { MemoryDomainStore } from './stores/memory-domain-store.ts';
export { createMemoryDomainStore } from './stores/memory-domain-store.ts';
export type { MemoryGreylistStore } from './stores/memory-greylist-store.ts';
export { createMemoryGreylistStore } from './stores/memory-greylist-store.ts';
export type { MemorySmtpSessionLog } from './stores/memory-smtp-session-log.ts';
export { createMemorySmtpSessionLog } from './stores/memory-smtp-session-log.ts';
export type { MemoryStores, MemoryStoresOptions } from './stores/memory-stores.ts';
export { createMemoryStores } from './stores/memory-stores.ts';
export { createMemoryThrottleStore } from './stores/memory-throttle-store.ts';
export type { MemoryWblistStore } from './stores/memory-wblist-store.ts';
export { createMemoryWblistStore } from './stores/memory-wblist-store.ts';
export type { DomainSeed, GreylistSeed, WblistSeed } from './stores/seed.ts';
export type {
  SmtpSessionCleanupOptions,
  SmtpSessionLog,
  SmtpSessionRow,
  SmtpSessionTextField,
} from './stores/smtp-session-log.ts';
export {
  checkSmtpSessionRow,
  checkSmtpSessionRows,
  SMTP_SESSION_FIELD_LENGTHS,
  smtpSessionCutoff,
  smtpSessionTimeText,
} from './stores/smtp-session-log.ts';
export { fromUnixSeconds, toUnixSeconds } from './stores/store-time.ts';
export { storedNetwork, storedNetworkContains } from './stores/stored-network.ts';
export type { ResolvedThrottleSetting } from './stores/throttle-input.ts';
export {
  checkCounterFilter,
  checkThrottleCharges,
  MAX_THROTTLE_PRIORITY,
  parseThrottleKind,
  resolveThrottleSetting,
  THROTTLE_ALGORITHMS,
  THROTTLE_KINDS,
} from './stores/throttle-input.ts';
export type {
  ThrottleAlgorithm,
  ThrottleCharge,
  ThrottleChargeCounters,
  ThrottleConsumeResult,
  ThrottleCounter,
  ThrottleCounterFilter,
  ThrottleKind,
  ThrottleRejection,
  ThrottleSetting,
  ThrottleSettingInput,
  ThrottleSettingsQuery,
  ThrottleStore,
  ThrottleWindow,
} from './stores/throttle-store.ts';
export type { StoredThrottleCounter, ThrottleWindowState } from './stores/throttle-window.ts';
export {
  countThrottleCharge,
  exceededThrottleLimit,
  storedThrottlePeriod,
  throttleWindowOf,
  throttleWindowState,
} from './stores/throttle-window.ts';
export type {
  ParsedWblistAccountRef,
  ParsedWblistChange,
  ParsedWblistListRef,
  WblistValue,
} from './stores/wblist-input.ts';
export {
  parseWblistAccountRef,
  parseWblistChange,
  parseWblistListRef,
  wbLetter,
  wblistOf,
} from './stores/wblist-input.ts';
export {
  compareInboundWblistMatches,
  compareOutboundWblistMatches,
  sortWblistMatches,
} from './stores/wblist-order.ts';
export type {
  WblistAccount,
  WblistChange,
  WblistDirection,
  WblistEntry,
  WblistInboundQuery,
  WblistList,
  WblistListRef,
  WblistLookupQuery,
  WblistLookupResult,
  WblistMatch,
  WblistOutboundQuery,
  WblistStore,
} from './stores/wblist-store.ts';
export type { TrustedNetworks, TrustedNetworksOptions } from './trusted-networks.ts';
export { createTrustedNetworks } from './trusted-networks.ts';
export type { TtlCache } from './ttl-cache.ts';
export { createTtlCache } from './ttl-cache.ts';
