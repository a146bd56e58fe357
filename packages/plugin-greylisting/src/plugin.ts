/**
 * The greylisting plugin: iRedAPD's `greylisting` (priority 80, RCPT) on a {@link GreylistStore}, with its bugs
 * fixed, the "client already passed" check moved before the SPF look-up, and a reason on every decision.
 *
 * Order: authenticated sender → trusted client → whitelists → settings → client already passed → SPF bypass →
 * triplet tracking. Store round trips: `loadContext` (concurrently with the alias-domain look-up), then one
 * write (`refreshPassed` or `recordAttempt`); a recipient in an alias domain adds one `loadContext`. With
 * `passedClientCacheTtlMs`, a client remembered as passed costs none; with `writeBehindFirstAttempts`, a
 * first attempt costs the `loadContext` alone (its row is written after the answer, batched).
 */

import {
  type BatchWriter,
  clientNetwork,
  createBatchWriter,
  createTtlCache,
  Decision,
  type DomainStore,
  everyWildcardIPv4,
  firstAttemptState,
  type GreylistAttemptResult,
  type GreylistContext,
  type GreylistContextQuery,
  type GreylistFirstAttempt,
  type GreylistStore,
  type GreylistTriplet,
  type GreylistWhitelistMatch,
  isDomain,
  isEmail,
  type Logger,
  localPartOf,
  normalizeIp,
  type PolicyContext,
  type PolicyPlugin,
  type PolicyRequest,
  policyAddresses,
} from '@policyd/core';
import { formatDuration } from './duration.ts';
import { type GreylistingOptions, resolveGreylistingOptions } from './options.ts';
import { compareSettings, findSetting } from './settings-match.ts';
import { createSpfBypass, type SpfBypass } from './spf-bypass.ts';

/** The plugin's name, as in iRedAPD's `plugins` setting. */
export const GREYLISTING_PLUGIN_NAME = 'greylisting';

function tagged(request: PolicyRequest): string[] {
  const { address, withoutExtension } = request.sender;
  return address !== withoutExtension && isEmail(address) ? [address] : [];
}

function whitelistReason(match: GreylistWhitelistMatch): string {
  const table = match.source === 'spf' ? 'SPF/MX networks of whitelist domains' : 'greylisting whitelists';
  const what = match.byNetwork ? `client in network ${match.sender}` : `sender ${match.sender}`;
  return `not greylisted: whitelisted, ${what} for ${match.account} (${table})`;
}

/** Context of the recipient and, when its domain is an alias domain, of the alias target too. */
async function loadContexts(
  store: GreylistStore,
  domains: DomainStore | undefined,
  request: PolicyRequest,
  query: GreylistContextQuery,
): Promise<GreylistContext> {
  const recipient = request.recipient.withoutExtension;
  const domain = request.recipient.domain;
  const lookUp = domains !== undefined && domain !== '' && isEmail(recipient);
  // Issued together: the alias look-up adds no sequential round trip unless the domain is an alias.
  const [context, info] = await Promise.all([
    store.loadContext(query),
    lookUp ? domains.lookupDomains([domain]) : undefined,
  ]);
  const target = info?.get(domain)?.aliasTarget;
  if (target === undefined || target === '') return context;
  const known = new Set(query.recipients);
  const extra = policyAddresses(`${localPartOf(recipient)}@${target}`).filter((a) => !known.has(a));
  if (extra.length === 0) return context;
  const { triplet: _asked, ...aliasQuery } = query; // the triplet's row came with the first context
  const more = await store.loadContext({ ...aliasQuery, recipients: extra });
  return {
    whitelist: [...context.whitelist, ...more.whitelist],
    settings: [...context.settings, ...more.settings].sort(compareSettings),
    passedTriplets: context.passedTriplets,
    ...(context.triplet === undefined ? {} : { triplet: context.triplet }),
  };
}

function describeTriplet(t: GreylistTriplet): string {
  return `${t.sender || '<>'} -> ${t.recipient}, client ${t.clientKey}`;
}

/** The background writer of first attempts (option `writeBehindFirstAttempts`). */
function firstAttemptWriter(store: GreylistStore, log: Logger): BatchWriter<GreylistFirstAttempt> {
  return createBatchWriter<GreylistFirstAttempt>({
    name: 'greylisting first-attempt writer',
    async write(attempts) {
      const { unstorable } = await store.recordFirstAttempts(attempts);
      for (const triplet of unstorable) {
        log.warn(
          { triplet },
          `greylisting: triplet not recorded, a value is longer than its column (${describeTriplet(triplet)})`,
        );
      }
    },
    onFailure(err, attempts) {
      const n = attempts.length;
      log.error(
        { err, lost: n },
        `greylisting: ${n} first ${n === 1 ? 'attempt' : 'attempts'} not recorded, their retries count as first attempts again: ${String(err)}`,
      );
    },
    onOverload(event) {
      if (event.state === 'full') {
        log.warn(
          { maxQueued: event.maxQueued },
          'greylisting: the database does not keep up, recording first attempts before answering until the queue drains',
        );
      }
    },
  });
}

/**
 * Create the greylisting plugin.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when an option is invalid (the message names it)
 *
 * @example
 * ```ts
 * const policy = await createPolicy({
 *   plugins: [greylisting({ store: storage.greylist, domains: storage.domains, mynetworks: ['192.168.0.0/16'] })],
 * });
 * // first attempt: action=451 4.7.1 Intentional policy rejection, please try again later
 * ```
 */
export function greylisting(options: GreylistingOptions): PolicyPlugin {
  const o = resolveGreylistingOptions(options);
  const spf: SpfBypass | undefined =
    o.dns === undefined
      ? undefined
      : createSpfBypass({
          dns: o.dns,
          timeoutMs: o.dnsTimeoutMs,
          cacheTtlMs: o.spfCacheTtlMs,
          cacheSize: o.spfCacheSize,
        });
  // Client keys that reached the "passed greylisting before" answer, which cannot change for them until their
  // passed triplets expire (days): every answer before it is DUNNO as well.
  const passedClients =
    o.passedClientCacheTtlMs > 0 ? createTtlCache<true>(o.passedClientCacheSize) : undefined;
  // Created by init, which gives the logger its failures go to.
  let firstAttempts: BatchWriter<GreylistFirstAttempt> | undefined;

  async function check(request: PolicyRequest, ctx: PolicyContext): Promise<Decision> {
    if (request.saslUsername.address !== '') {
      return Decision.dunno('not greylisted: authenticated sender (outbound mail)');
    }
    const client = normalizeIp(request.clientAddress);
    if (client === undefined) {
      return Decision.dunno(
        `not greylisted: client address ${JSON.stringify(request.clientAddress)} is not an IP`,
      );
    }
    if (o.trusted.contains(client)) return Decision.dunno(`not greylisted: trusted client ${client}`);

    const now = ctx.now();
    const clientKey =
      o.groupByNetwork === undefined ? client : (clientNetwork(client, o.groupByNetwork) ?? client);
    if (passedClients?.get(clientKey, now) === true) {
      return Decision.dunno(
        `not greylisted: client ${clientKey} passed greylisting before (remembered, no look-up)`,
      );
    }
    const senders = policyAddresses(request.sender.withoutExtension);
    const senderDomain = request.sender.domain;
    const triplet: GreylistTriplet = {
      sender: request.sender.withoutExtension,
      senderDomain,
      recipient: request.recipient.withoutExtension,
      recipientDomain: request.recipient.domain,
      clientKey,
    };
    const query: GreylistContextQuery = {
      recipients: policyAddresses(request.recipient.withoutExtension),
      // The sender as sent too: rows written with an address extension (iRedAPD's outbound-recipient
      // whitelisting kept it, B33) then still match that exact sender.
      senders: [...senders, ...tagged(request), client, ...everyWildcardIPv4(client)],
      clientAddress: client,
      clientKey,
      now,
      ...(firstAttempts === undefined ? {} : { triplet }),
    };
    const context = await loadContexts(o.store, o.domains, request, query);

    const whitelisted = context.whitelist[0];
    if (whitelisted !== undefined) return Decision.dunno(whitelistReason(whitelisted));

    const match = findSetting(context.settings, senders, client);
    if (match === undefined) {
      return Decision.dunno(`not greylisted: no greylisting setting applies to ${query.recipients[0]}`);
    }
    const setting = `setting ${match.setting.sender} -> ${match.setting.account}`;
    if (!match.setting.active) return Decision.dunno(`not greylisted: disabled by ${setting}`);

    // Before the SPF look-up (iRedAPD checks it after, B21): same answers, no DNS for known clients.
    if (o.autoWhitelistClients > 0 && context.passedTriplets >= o.autoWhitelistClients) {
      await o.store.refreshPassed(clientKey, now + o.authExpireMs);
      passedClients?.set(clientKey, true, now + o.passedClientCacheTtlMs);
      return Decision.dunno(
        `not greylisted: client ${clientKey} passed greylisting before (${context.passedTriplets} passed triplets)`,
      );
    }

    const notes = [`enabled by ${setting}`];
    if (spf !== undefined && senderDomain !== '' && senderDomain !== o.srsDomain && isDomain(senderDomain)) {
      const verdict = await spf.check({
        domain: senderDomain,
        localPart: request.sender.localPart,
        ip: client,
        helo: request.heloName,
        now,
        signal: ctx.signal,
      });
      if (verdict.authorised) {
        return Decision.dunno(`not greylisted: SPF pass, ${senderDomain} authorises ${client}`);
      }
      notes.push(`SPF ${verdict.result} for ${senderDomain}`);
    }
    if (clientKey !== client) notes.push(`client ${clientKey}`);

    const times = {
      now,
      blockExpiresAt: now + o.blockMs,
      unauthExpiresAt: now + o.unauthExpireMs,
      authExpiresAt: now + o.authExpireMs,
    };
    // A triplet with no row: answer now, write the row behind (unless the queue is full).
    const attempt: GreylistAttemptResult =
      context.triplet === null && firstAttempts?.offer({ triplet, times }) === true
        ? { outcome: 'new', triplet: firstAttemptState(triplet, times) }
        : await o.store.recordAttempt(triplet, times);
    const state = attempt.triplet;
    let why: string;
    switch (attempt.outcome) {
      case 'passed':
        return Decision.dunno(`passed greylisting: retried after ${formatDuration(now - state.firstSeenAt)}`);
      case 'still-passed':
        return Decision.dunno('passed greylisting: triplet passed before');
      case 'new':
        why = `greylisted: new triplet, retry accepted after ${formatDuration(state.blockExpiresAt - now)}`;
        break;
      case 'restarted':
        why = `greylisted: triplet expired, starting over, retry accepted after ${formatDuration(state.blockExpiresAt - now)}`;
        break;
      case 'too-early':
        why = `greylisted: retry too early, ${formatDuration(state.blockExpiresAt - now)} left (deferred ${state.blockedCount} times)`;
        break;
    }
    const reason = `${why}; ${notes.join('; ')}`;
    if (o.trainingMode) return Decision.dunno(`training mode, not deferred: ${reason}`);
    return Decision.reply(451, o.message, '4.7.1', reason);
  }

  return {
    name: GREYLISTING_PLUGIN_NAME,
    priority: o.priority,
    states: ['RCPT'],
    check,
    init(ctx) {
      if (o.writeBehindFirstAttempts) firstAttempts ??= firstAttemptWriter(o.store, ctx.log);
    },
    async close() {
      await firstAttempts?.drain();
    },
  };
}
