/**
 * The SPF bypass: does the sender domain's SPF record authorise the client? A real RFC 7208 evaluation by
 * mailauth, fed by the injected `DnsResolver`, bounded by a deadline, cached per (domain, client) and shared
 * by concurrent requests that ask the same question. Anything but an SPF `pass` (failure, error, timeout)
 * means "not authorised": the bypass can only skip greylisting, never stall or fail a request.
 */

import { createTtlCache, type DnsResolver } from '@policyd/core';
import { spf } from 'mailauth/lib/spf/index.js';
import { dnsErrorCode, untilAborted } from './dns-deadline.ts';

/** An SPF result (RFC 7208 section 2.6), plus `timeout` when the deadline passed first. */
export type SpfResult =
  | 'pass'
  | 'fail'
  | 'softfail'
  | 'neutral'
  | 'none'
  | 'permerror'
  | 'temperror'
  | 'timeout';

/** The answer of {@link SpfBypass.check}. */
export interface SpfVerdict {
  /** The SPF result. */
  readonly result: SpfResult;
  /** True only for `pass`. */
  readonly authorised: boolean;
  /** True when the answer came from the cache (or from a concurrent request's evaluation). */
  readonly cached: boolean;
}

/** One question for {@link SpfBypass.check}. */
export interface SpfQuestion {
  /** Sender domain (lower-case). */
  readonly domain: string;
  /** Sender local part, for records that use the `%{l}` macro. */
  readonly localPart: string;
  /** Client IP address. */
  readonly ip: string;
  /** HELO name, for the `%{h}` macro; may be empty. */
  readonly helo: string;
  /** Current time in milliseconds (the policy's clock), for the cache. */
  readonly now: number;
  /** The request's deadline; when it fires, this caller stops waiting. */
  readonly signal?: AbortSignal;
}

/** Checks whether a client is authorised by a domain's SPF record. */
export interface SpfBypass {
  /** Evaluate (or reuse) the SPF result of `ip` for `domain`. Never rejects. */
  check(question: SpfQuestion): Promise<SpfVerdict>;
}

/** A `DnsResolver` (from `@policyd/core`) that may also answer PTR queries (`node:dns/promises`' `Resolver` does). */
export interface SpfDnsResolver extends DnsResolver {
  /** PTR records, for the rarely used `ptr` mechanism; without it, PTR look-ups find nothing. */
  resolvePtr?(hostname: string): Promise<string[]>;
}

/** Options of {@link createSpfBypass}. */
export interface SpfBypassOptions {
  /** DNS for the evaluation. */
  readonly dns: SpfDnsResolver;
  /** The whole evaluation must finish within this many milliseconds, else the result is `timeout`. */
  readonly timeoutMs: number;
  /** How long a result is reused, in milliseconds; `0` disables the cache. */
  readonly cacheTtlMs: number;
  /** Most results kept. */
  readonly cacheSize: number;
}

/** Temporary failures are reused for at most this long, so a broken name server is not hammered. */
const ERROR_TTL_MS = 30_000;

type MailauthResolver = (name: string, type: string) => Promise<string[][] | string[]>;

function notFound(name: string): Error {
  return Object.assign(new Error(`no PTR resolver for ${name}`), { code: 'ENOTFOUND' });
}

function mailauthResolver(dns: SpfDnsResolver, signal: AbortSignal): MailauthResolver {
  return (name, type) => {
    let work: Promise<unknown>;
    switch (type) {
      case 'TXT':
        work = dns.resolveTxt(name);
        break;
      case 'A':
        work = dns.resolve4(name);
        break;
      case 'AAAA':
        work = dns.resolve6(name);
        break;
      case 'MX':
        work = dns.resolveMx(name);
        break;
      case 'PTR':
        work = typeof dns.resolvePtr === 'function' ? dns.resolvePtr(name) : Promise.reject(notFound(name));
        break;
      default:
        work = Promise.reject(Object.assign(new Error(`unsupported type ${type}`), { code: 'ENOTIMP' }));
    }
    // mailauth's typing says string lists; MX answers are objects, which it handles.
    return untilAborted(work, signal, `${type} ${name}`) as Promise<string[][] | string[]>;
  };
}

const RESULTS: ReadonlySet<string> = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror']);

/**
 * Create the SPF bypass check.
 *
 * @example
 * ```ts
 * const bypass = createSpfBypass({ dns: new Resolver(), timeoutMs: 3000, cacheTtlMs: 300_000, cacheSize: 10_000 });
 * const { authorised } = await bypass.check({ domain: 'example.com', localPart: 'bob', ip: '192.0.2.1', helo: '', now: Date.now() });
 * ```
 */
export function createSpfBypass(options: SpfBypassOptions): SpfBypass {
  const cache = createTtlCache<SpfResult>(options.cacheTtlMs > 0 ? options.cacheSize : 0);
  const inflight = new Map<string, Promise<SpfResult>>();

  async function evaluate(question: SpfQuestion): Promise<SpfResult> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
    try {
      const evaluation = spf({
        sender: `${question.localPart || 'postmaster'}@${question.domain}`,
        ip: question.ip,
        ...(question.helo === '' ? {} : { helo: question.helo }),
        mta: 'policyd',
        // The deadline is ours (not mailauth's maxElapsedTime), so a timeout always reads as `timeout`.
        resolver: mailauthResolver(options.dns, deadline.signal),
      });
      const outcome = await untilAborted(evaluation, deadline.signal, `SPF ${question.domain}`);
      const result = outcome.status.result;
      return RESULTS.has(result) ? (result as SpfResult) : 'temperror';
    } catch (err) {
      return deadline.signal.aborted || dnsErrorCode(err) === 'ETIMEOUT' ? 'timeout' : 'temperror';
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async check(question) {
      const key = `${question.domain} ${question.ip}`;
      const hit = cache.get(key, question.now);
      if (hit !== undefined) return { result: hit, authorised: hit === 'pass', cached: true };
      let shared = true;
      let pending = inflight.get(key);
      if (pending === undefined) {
        shared = false;
        pending = evaluate(question).then((result) => {
          inflight.delete(key);
          const temporary = result === 'temperror' || result === 'timeout';
          const ttl = temporary ? Math.min(options.cacheTtlMs, ERROR_TTL_MS) : options.cacheTtlMs;
          if (ttl > 0) cache.set(key, result, question.now + ttl);
          return result;
        });
        inflight.set(key, pending);
      }
      let result: SpfResult;
      try {
        result =
          question.signal === undefined
            ? await pending
            : await untilAborted(pending, question.signal, `SPF ${question.domain}`);
      } catch {
        result = 'timeout';
      }
      return { result, authorised: result === 'pass', cached: shared };
    },
  };
}
