import { afterEach, describe, expect, it, vi } from 'vitest';
import { Decision } from './decision.ts';
import { isPolicydError, type PolicydError, type PolicydErrorCode } from './errors.ts';
import type { Logger } from './logger.ts';
import type { ErrorPolicy, PolicyContext, PolicyPlugin } from './plugin.ts';
import { createPolicy, type Evaluation, type PolicyOptions } from './policy.ts';
import type { MailAddress, PolicyRequest, ProtocolState } from './request.ts';

// A full PolicyRequest literal; the testing kit's policyRequest() will replace this helper.
function address(value: string): MailAddress {
  const at = value.indexOf('@');
  return {
    address: value,
    localPart: at < 0 ? value : value.slice(0, at),
    domain: at < 0 ? value : value.slice(at + 1),
    withoutExtension: value,
    valid: at > 0,
  };
}

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    protocolState: 'RCPT',
    protocolName: 'ESMTP',
    heloName: 'mail.example.net',
    queueId: '',
    sender: address('sender@example.net'),
    recipient: address('user@example.com'),
    recipientCount: 0,
    clientAddress: '192.0.2.10',
    clientName: 'mail.example.net',
    reverseClientName: 'mail.example.net',
    clientPort: 0,
    instance: '1a2b.3c4d5e6f.12345.0',
    saslMethod: '',
    saslUsername: address(''),
    saslSender: '',
    size: 0,
    ccertSubject: '',
    ccertIssuer: '',
    ccertFingerprint: '',
    ccertPubkeyFingerprint: '',
    encryptionProtocol: '',
    encryptionCipher: '',
    encryptionKeysize: 0,
    etrnDomain: '',
    stress: false,
    policyContext: '',
    serverAddress: '',
    serverPort: 0,
    compatibilityLevel: '',
    mailVersion: '',
    tlsSni: '',
    attrs: new Map(),
    ...overrides,
  };
}

const at = (protocolState: PolicyRequest['protocolState'], instance?: string) =>
  request(instance === undefined ? { protocolState } : { protocolState, instance });

interface LogLine {
  readonly level: string;
  readonly bindings: Record<string, unknown>;
  readonly fields: Record<string, unknown>;
  readonly msg: string | undefined;
}

function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const fn =
      (level: string) =>
      (a: object | string, b?: string): void => {
        lines.push(
          typeof a === 'string'
            ? { level, bindings, fields: {}, msg: a }
            : { level, bindings, fields: a as Record<string, unknown>, msg: b },
        );
      };
    return {
      debug: fn('debug'),
      info: fn('info'),
      warn: fn('warn'),
      error: fn('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

const says = (name: string, decision: Decision, extra: Partial<PolicyPlugin> = {}): PolicyPlugin => ({
  name,
  check: () => decision,
  ...extra,
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function expectCode(err: unknown, code: PolicydErrorCode): PolicydError {
  expect(isPolicydError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  return err as PolicydError;
}

const outcomes = (e: Evaluation) => e.trace.map((t) => `${t.plugin}:${t.outcome}`);

afterEach(() => {
  vi.useRealTimers();
});

describe('evaluation order and decisions', () => {
  it('runs plugins by priority, ties in registration order', async () => {
    const ran: string[] = [];
    const spy = (name: string, priority?: number): PolicyPlugin => ({
      name,
      ...(priority === undefined ? {} : { priority }),
      check: () => {
        ran.push(name);
        return Decision.dunno();
      },
    });
    const policy = await createPolicy({
      plugins: [spy('c'), spy('a', 10), spy('d'), spy('b', 10), spy('e', 90)],
    });
    await policy.evaluate(request());
    expect(ran).toEqual(['e', 'a', 'b', 'c', 'd']);
    expect(policy.plugins.map((p) => p.name)).toEqual(ran);
    expect(Object.isFrozen(policy.plugins)).toBe(true);
  });

  it('prints the effective order', async () => {
    const policy = await createPolicy({
      plugins: [
        says('throttle', Decision.dunno(), { priority: 60, states: ['END-OF-MESSAGE'] }),
        says('x', Decision.ok()),
      ],
    });
    expect(policy.describe()).toBe('60  throttle  END-OF-MESSAGE\n 0  x         RCPT');
  });

  it('stops at the first decision that is not DUNNO', async () => {
    const third = vi.fn(() => Decision.reject('never'));
    const policy = await createPolicy({
      plugins: [
        says('first', Decision.dunno('not-mine'), { priority: 3 }),
        says('second', Decision.reject('Blacklisted', 'blacklist:sender'), { priority: 2 }),
        { name: 'third', priority: 1, check: third },
      ],
    });
    const result = await policy.evaluate(request());
    expect(result.decision).toEqual({ action: 'REJECT', text: 'Blacklisted', reason: 'blacklist:sender' });
    expect(result.decidedBy).toBe('second');
    expect(result.disconnect).toBe(false);
    expect(outcomes(result)).toEqual(['first:dunno', 'second:decided']);
    expect(result.trace[0]?.decision).toEqual({ action: 'DUNNO', reason: 'not-mine' });
    expect(third).not.toHaveBeenCalled();
  });

  it('treats OK as final, like every non-DUNNO decision', async () => {
    const policy = await createPolicy({
      plugins: [
        says('whitelist', Decision.ok('whitelisted'), { priority: 90 }),
        says('greylisting', Decision.defer()),
      ],
    });
    const result = await policy.evaluate(request());
    expect(result.decision.action).toBe('OK');
    expect(outcomes(result)).toEqual(['whitelist:decided']);
  });

  it('answers DUNNO when every plugin says DUNNO', async () => {
    const policy = await createPolicy({
      plugins: [says('a', Decision.dunno('a')), says('b', Decision.dunno())],
    });
    const result = await policy.evaluate(request());
    expect(result.decision).toEqual({ action: 'DUNNO' });
    expect(result.decidedBy).toBeUndefined();
    expect(outcomes(result)).toEqual(['a:dunno', 'b:dunno']);
  });

  it('answers DUNNO with an empty trace when there are no plugins', async () => {
    const policy = await createPolicy({ plugins: [] });
    const result = await policy.evaluate(request());
    expect(result).toMatchObject({ decision: { action: 'DUNNO' }, disconnect: false, trace: [] });
    expect(policy.describe()).toBe('');
  });

  it('accepts asynchronous checks and decisions written as object literals', async () => {
    const policy = await createPolicy({
      plugins: [
        { name: 'async-dunno', priority: 1, check: async () => Decision.dunno() },
        {
          name: 'literal',
          check: async () => ({ action: 'REPLY', code: 450, status: '4.7.1', text: 'Later' }),
        },
      ],
    });
    const result = await policy.evaluate(request());
    expect(result.decision).toEqual({ action: 'REPLY', code: 450, status: '4.7.1', text: 'Later' });
    expect(outcomes(result)).toEqual(['async-dunno:dunno', 'literal:decided']);
  });

  it('records durations in the trace and for the whole evaluation', async () => {
    const policy = await createPolicy({
      plugins: [says('a', Decision.dunno()), { name: 'b', check: async () => Decision.ok() }],
    });
    const result = await policy.evaluate(request());
    for (const entry of result.trace) expect(entry.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.trace[1]).toEqual({
      plugin: 'b',
      outcome: 'decided',
      decision: { action: 'OK' },
      durationMs: expect.any(Number),
    });
  });
});

describe('protocol states', () => {
  const plugins = () => [
    says('rcpt-default', Decision.dunno()),
    says('eom', Decision.dunno(), { states: ['END-OF-MESSAGE'] }),
    says('both', Decision.dunno(), { states: ['RCPT', 'END-OF-MESSAGE'] }),
    says('mail', Decision.dunno(), { states: ['MAIL'] }),
  ];

  it.each<[ProtocolState | 'UNKNOWN', string[]]>([
    ['RCPT', ['rcpt-default', 'both']],
    ['END-OF-MESSAGE', ['eom', 'both']],
    ['MAIL', ['mail']],
    ['DATA', []],
    ['CONNECT', []],
    ['UNKNOWN', []],
  ])('at %s runs only the plugins that declare it', async (state, ran) => {
    const policy = await createPolicy({ plugins: plugins() });
    const result = await policy.evaluate(at(state));
    expect(result.trace.map((t) => t.plugin)).toEqual(ran);
    expect(result.decision.action).toBe('DUNNO');
  });
});

describe('plugin failures', () => {
  type Failure = 'throw' | 'reject' | 'invalid' | 'invalid-async' | 'timeout';
  const failing = (kind: Failure, extra: Partial<PolicyPlugin> = {}): PolicyPlugin => ({
    name: 'broken',
    priority: 10,
    check: (): Decision | Promise<Decision> => {
      switch (kind) {
        case 'throw':
          throw new Error('boom');
        case 'reject':
          return Promise.reject(new Error('store down'));
        case 'invalid':
          return { action: 'REJECTED' } as unknown as Decision;
        case 'invalid-async':
          return Promise.resolve('DUNNO' as unknown as Decision);
        case 'timeout':
          return new Promise<Decision>(() => {});
      }
    },
    ...extra,
  });
  const expected: Record<Failure, [PolicydErrorCode, string]> = {
    throw: ['POLICYD_ERR_PLUGIN_FAILED', 'failed'],
    reject: ['POLICYD_ERR_PLUGIN_FAILED', 'failed'],
    invalid: ['POLICYD_ERR_INVALID_DECISION', 'failed'],
    'invalid-async': ['POLICYD_ERR_INVALID_DECISION', 'failed'],
    timeout: ['POLICYD_ERR_PLUGIN_TIMEOUT', 'timeout'],
  };
  const kinds = Object.keys(expected) as Failure[];

  async function run(kind: Failure, options: Partial<PolicyOptions> = {}, extra: Partial<PolicyPlugin> = {}) {
    const { logger, lines } = recordingLogger();
    const next = vi.fn(() => Decision.reject('from next'));
    const policy = await createPolicy({
      pluginTimeoutMs: 20,
      ...options,
      logger,
      plugins: [failing(kind, extra), { name: 'next', check: next }],
    });
    const result = await policy.evaluate(request());
    return { result, lines, next };
  }

  it.each(kinds)('skip (the default): logs a %s and lets the next plugin decide', async (kind) => {
    const [code, outcome] = expected[kind];
    const { result, lines, next } = await run(kind);
    expect(next).toHaveBeenCalledOnce();
    expect(result.decision).toEqual({ action: 'REJECT', text: 'from next' });
    expect(result.decidedBy).toBe('next');
    expect(outcomes(result)).toEqual([`broken:${outcome}`, 'next:decided']);
    const error = expectCode(result.trace[0]?.error, code);
    expect(error.plugin).toBe('broken');
    expect(error.message).toContain('"broken"');
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]?.fields).toMatchObject({ plugin: 'broken', code, onError: 'skip' });
    expect(warns[0]?.fields.err).toBe(error.cause ?? error);
    expect(warns[0]?.msg).toBe(error.message);
  });

  it.each(kinds)('defer: a %s answers the defer decision', async (kind) => {
    const { result, next, lines } = await run(kind, { onPluginError: 'defer' });
    expect(next).not.toHaveBeenCalled();
    expect(result.decision).toEqual({
      action: 'REPLY',
      code: 451,
      status: '4.3.0',
      text: 'Temporary policy service failure, try again later',
    });
    expect(result.decidedBy).toBe('broken');
    expect(result.disconnect).toBe(false);
    expect(result.trace).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'warn')[0]?.fields).toMatchObject({ onError: 'defer' });
  });

  it.each(kinds)('disconnect: a %s asks the server to close without a reply', async (kind) => {
    const { result, next } = await run(kind, { onPluginError: 'disconnect' });
    expect(next).not.toHaveBeenCalled();
    expect(result.disconnect).toBe(true);
    expect(result.decidedBy).toBe('broken');
    expect(result.decision.action).toBe('DUNNO');
    expect(result.trace).toHaveLength(1);
  });

  it("lets a plugin's onError override the policy's", async () => {
    const deferring = await run('throw', { onPluginError: 'disconnect' }, { onError: 'defer' });
    expect(deferring.result.disconnect).toBe(false);
    expect(deferring.result.decision.action).toBe('REPLY');
    const skipping = await run('throw', { onPluginError: 'defer' }, { onError: 'skip' });
    expect(skipping.result.decidedBy).toBe('next');
  });

  it('uses the configured defer decision', async () => {
    const { result } = await run('reject', {
      onPluginError: 'defer',
      deferDecision: Decision.defer('Try later'),
    });
    expect(result.decision).toEqual({ action: 'DEFER', text: 'Try later' });
  });

  it('keeps the thrown value as the cause, whatever it is', async () => {
    const thrownValue = { not: 'an error' };
    const policy = await createPolicy({
      plugins: [
        {
          name: 'odd',
          check: () => {
            throw thrownValue;
          },
        },
        {
          name: 'null-proto',
          check: () => Promise.reject(Object.create(null)),
        },
      ],
    });
    const result = await policy.evaluate(request());
    const first = expectCode(result.trace[0]?.error, 'POLICYD_ERR_PLUGIN_FAILED');
    expect(first.cause).toBe(thrownValue);
    expect(first.message).toBe('plugin "odd" failed: [object Object]');
    expectCode(result.trace[1]?.error, 'POLICYD_ERR_PLUGIN_FAILED');
  });

  it('names the invalid decision and keeps the validation error as the cause', async () => {
    const { result } = await run('invalid');
    const error = expectCode(result.trace[0]?.error, 'POLICYD_ERR_INVALID_DECISION');
    expect(error.value).toEqual({ action: 'REJECTED' });
    expect(error.message).toContain('"REJECTED"');
    expectCode(error.cause, 'POLICYD_ERR_INVALID_DECISION');
  });

  it('treats a decision constructor that throws inside check as a failure', async () => {
    const { logger } = recordingLogger();
    const policy = await createPolicy({
      logger,
      plugins: [{ name: 'bad-reply', check: () => Decision.reply(200, 'OK') }],
    });
    const result = await policy.evaluate(request());
    const error = expectCode(result.trace[0]?.error, 'POLICYD_ERR_PLUGIN_FAILED');
    expectCode(error.cause, 'POLICYD_ERR_INVALID_DECISION');
    expect(result.decision.action).toBe('DUNNO');
  });
});

describe('deadlines and signals', () => {
  it("aborts the plugin's signal at its deadline and ignores the late answer", async () => {
    vi.useFakeTimers();
    const late = deferred<Decision>();
    let signal: AbortSignal | undefined;
    const policy = await createPolicy({
      pluginTimeoutMs: 50,
      plugins: [
        {
          name: 'slow',
          check: (_, ctx) => {
            signal = ctx.signal;
            return late.promise;
          },
        },
      ],
    });
    const pending = policy.evaluate(request());
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(49);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const result = await pending;
    expect(outcomes(result)).toEqual(['slow:timeout']);
    const error = expectCode(result.trace[0]?.error, 'POLICYD_ERR_PLUGIN_TIMEOUT');
    expect(error.message).toBe('plugin "slow" did not answer within 50 ms');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    late.resolve(Decision.reject('too late'));
    await vi.advanceTimersByTimeAsync(10);
    expect(result.decision.action).toBe('DUNNO');
    expect(result.trace).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores a rejection that arrives after the deadline (no unhandled rejection)', async () => {
    vi.useFakeTimers();
    const late = deferred<Decision>();
    const policy = await createPolicy({
      pluginTimeoutMs: 10,
      plugins: [{ name: 'slow', check: () => late.promise }],
    });
    const pending = policy.evaluate(request());
    await vi.advanceTimersByTimeAsync(10);
    const result = await pending;
    late.reject(new Error('connection reset after the deadline'));
    await vi.advanceTimersByTimeAsync(10);
    expect(outcomes(result)).toEqual(['slow:timeout']);
  });

  it("lets a plugin's timeoutMs override the policy's pluginTimeoutMs", async () => {
    vi.useFakeTimers();
    const policy = await createPolicy({
      pluginTimeoutMs: 10,
      plugins: [
        {
          name: 'patient',
          priority: 1,
          timeoutMs: 40,
          check: () => new Promise((r) => setTimeout(r, 30, Decision.dunno())),
        },
        { name: 'hasty', check: () => new Promise((r) => setTimeout(r, 30, Decision.ok())) },
      ],
    });
    const pending = policy.evaluate(request());
    await vi.advanceTimersByTimeAsync(100);
    expect(outcomes(await pending)).toEqual(['patient:dunno', 'hasty:timeout']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses a 5 s deadline by default', async () => {
    vi.useFakeTimers();
    const policy = await createPolicy({ plugins: [{ name: 'slow', check: () => new Promise(() => {}) }] });
    const pending = policy.evaluate(request());
    await vi.advanceTimersByTimeAsync(4_999);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes(await pending)).toEqual(['slow:timeout']);
  });

  it('arms no timer for synchronous checks and clears it after asynchronous ones', async () => {
    vi.useFakeTimers();
    const policy = await createPolicy({
      plugins: [
        {
          name: 'sync',
          priority: 2,
          check: (_, ctx) => (ctx.signal.aborted ? Decision.ok() : Decision.dunno()),
        },
        { name: 'async', priority: 1, check: async () => Decision.dunno() },
        {
          name: 'count',
          check: () => {
            expect(vi.getTimerCount()).toBe(0);
            return Decision.dunno();
          },
        },
      ],
    });
    const result = await policy.evaluate(request());
    expect(outcomes(result)).toEqual(['sync:dunno', 'async:dunno', 'count:dunno']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives a plugin that first reads its signal after the deadline an aborted signal', async () => {
    vi.useFakeTimers();
    const seen = deferred<boolean>();
    const policy = await createPolicy({
      pluginTimeoutMs: 10,
      plugins: [
        {
          name: 'late-reader',
          check: async (_, ctx) => {
            await new Promise((r) => setTimeout(r, 20));
            seen.resolve(ctx.signal.aborted);
            return Decision.dunno();
          },
        },
      ],
    });
    const pending = policy.evaluate(request());
    await vi.advanceTimersByTimeAsync(30);
    expect(outcomes(await pending)).toEqual(['late-reader:timeout']);
    expect(await seen.promise).toBe(true);
  });

  it("rejects with the caller's reason when the caller aborts, and aborts the running plugin", async () => {
    const controller = new AbortController();
    const next = vi.fn(() => Decision.ok());
    let pluginSignal: AbortSignal | undefined;
    const policy = await createPolicy({
      plugins: [
        {
          name: 'waiting',
          priority: 1,
          check: (_, ctx) => {
            pluginSignal = ctx.signal;
            return new Promise(() => {});
          },
        },
        { name: 'next', check: next },
      ],
    });
    const pending = policy.evaluate(request(), { signal: controller.signal });
    const reason = new Error('request deadline');
    setTimeout(() => controller.abort(reason), 5);
    expect(await rejection(pending)).toBe(reason);
    expect(pluginSignal?.aborted).toBe(true);
    expect(pluginSignal?.reason).toBe(reason);
    expect(next).not.toHaveBeenCalled();
  });

  it('rejects at once when the caller signal is already aborted', async () => {
    const check = vi.fn(() => Decision.ok());
    const policy = await createPolicy({ plugins: [{ name: 'p', check }] });
    const err = await rejection(policy.evaluate(request(), { signal: AbortSignal.abort() }));
    expect((err as Error).name).toBe('AbortError');
    expect(check).not.toHaveBeenCalled();
  });

  it('stops before the next plugin when the caller aborted meanwhile', async () => {
    const controller = new AbortController();
    const next = vi.fn(() => Decision.ok());
    const policy = await createPolicy({
      plugins: [
        {
          name: 'aborter',
          priority: 1,
          check: () => {
            controller.abort('gone');
            return Decision.dunno();
          },
        },
        { name: 'next', check: next },
      ],
    });
    expect(await rejection(policy.evaluate(request(), { signal: controller.signal }))).toBe('gone');
    expect(next).not.toHaveBeenCalled();
  });

  it('evaluates normally with a caller signal that never aborts', async () => {
    const controller = new AbortController();
    const policy = await createPolicy({ plugins: [{ name: 'a', check: async () => Decision.ok() }] });
    const result = await policy.evaluate(request(), { signal: controller.signal });
    expect(result.decision.action).toBe('OK');
    controller.abort();
  });
});

describe('plugin context', () => {
  it('gives each plugin a logger bound to its name and the policy clock', async () => {
    const { logger, lines } = recordingLogger();
    let now = 0;
    const policy = await createPolicy({
      logger,
      now: () => 1_234,
      plugins: [
        {
          name: 'talker',
          check: (_, ctx) => {
            ctx.log.info({ n: 1 }, 'hello');
            now = ctx.now();
            return Decision.dunno();
          },
        },
      ],
    });
    await policy.evaluate(request());
    expect(now).toBe(1_234);
    expect(lines).toContainEqual({
      level: 'info',
      bindings: { plugin: 'talker' },
      fields: { n: 1 },
      msg: 'hello',
    });
  });

  it('can be destructured', async () => {
    const policy = await createPolicy({
      now: () => 5,
      plugins: [
        {
          name: 'destructurer',
          check: (_, { signal, session, log, now }) => {
            session.set('destructurer:k', 1);
            log.debug('checked');
            return signal.aborted || now() !== 5 ? Decision.ok() : Decision.dunno(`size=${session.size}`);
          },
        },
      ],
    });
    expect((await policy.evaluate(request())).trace[0]?.decision).toEqual({
      action: 'DUNNO',
      reason: 'size=1',
    });
  });

  function sessionPolicy(options: Partial<PolicyOptions> = {}) {
    const seen: Map<string, unknown>[] = [];
    return {
      seen,
      policy: createPolicy({
        ...options,
        plugins: [
          {
            name: 'counter',
            states: ['RCPT', 'END-OF-MESSAGE'],
            check: (_, ctx: PolicyContext) => {
              seen.push(ctx.session);
              ctx.session.set('counter:n', ((ctx.session.get('counter:n') as number | undefined) ?? 0) + 1);
              return Decision.dunno();
            },
          },
          {
            name: 'reader',
            states: ['END-OF-MESSAGE'],
            check: (_, ctx) => Decision.dunno(`n=${String(ctx.session.get('counter:n'))}`),
          },
        ],
      }),
    };
  }

  it('shares the session between the RCPT and END-OF-MESSAGE requests of one instance', async () => {
    const { policy } = sessionPolicy();
    const p = await policy;
    await p.evaluate(at('RCPT', 'msg-1'));
    await p.evaluate(at('RCPT', 'msg-1'));
    const eom = await p.evaluate(at('END-OF-MESSAGE', 'msg-1'));
    expect(eom.trace[1]?.decision?.reason).toBe('n=3');
  });

  it('keeps sessions of different instances apart', async () => {
    const { policy, seen } = sessionPolicy();
    const p = await policy;
    await p.evaluate(at('RCPT', 'msg-1'));
    await p.evaluate(at('RCPT', 'msg-1'));
    const other = await p.evaluate(at('END-OF-MESSAGE', 'msg-2'));
    expect(other.trace[1]?.decision?.reason).toBe('n=1');
    expect(seen[0]).toBe(seen[1]);
    expect(seen[2]).not.toBe(seen[0]);
  });

  it('gives requests without an instance a fresh session each time', async () => {
    const { policy, seen } = sessionPolicy();
    const p = await policy;
    await p.evaluate(at('RCPT', ''));
    const eom = await p.evaluate(at('END-OF-MESSAGE', ''));
    expect(eom.trace[1]?.decision?.reason).toBe('n=1');
    expect(seen[0]).not.toBe(seen[1]);
  });

  it('bounds sessions by the sessionCache options', async () => {
    let time = 0;
    const { policy } = sessionPolicy({ now: () => time, sessionCache: { maxEntries: 1, ttlMs: 1_000 } });
    const p = await policy;
    await p.evaluate(at('RCPT', 'msg-1'));
    await p.evaluate(at('RCPT', 'msg-2'));
    expect((await p.evaluate(at('END-OF-MESSAGE', 'msg-1'))).trace[1]?.decision?.reason).toBe('n=1');
    time += 1_000;
    expect((await p.evaluate(at('END-OF-MESSAGE', 'msg-1'))).trace[1]?.decision?.reason).toBe('n=1');
  });
});

describe('lifecycle', () => {
  function tracked(
    log: string[],
    name: string,
    priority: number,
    extra: Partial<PolicyPlugin> = {},
  ): PolicyPlugin {
    return {
      name,
      priority,
      check: () => Decision.dunno(),
      init: async (ctx) => {
        await Promise.resolve();
        log.push(`init ${name} ${ctx.now()}`);
      },
      close: async () => {
        await Promise.resolve();
        log.push(`close ${name}`);
      },
      ...extra,
    };
  }

  it('initialises in order and closes in reverse order, once', async () => {
    const log: string[] = [];
    const policy = await createPolicy({
      now: () => 7,
      plugins: [tracked(log, 'b', 1), tracked(log, 'a', 2), tracked(log, 'c', 0)],
    });
    expect(log).toEqual(['init a 7', 'init b 7', 'init c 7']);
    const first = policy.close();
    const second = policy.close();
    expect(second).toBe(first);
    await first;
    await policy.close();
    expect(log.slice(3)).toEqual(['close c', 'close b', 'close a']);
  });

  it('gives init a logger bound to the plugin', async () => {
    const { logger, lines } = recordingLogger();
    await createPolicy({
      logger,
      plugins: [{ name: 'p', check: () => Decision.dunno(), init: (ctx) => ctx.log.debug('ready') }],
    });
    expect(lines).toEqual([{ level: 'debug', bindings: { plugin: 'p' }, fields: {}, msg: 'ready' }]);
  });

  it('closes the plugins already initialised when an init fails, then throws naming the plugin', async () => {
    const log: string[] = [];
    const cause = new Error('cannot connect to SQL');
    const { init: _, ...noInit } = tracked(log, 'no-init', 2);
    const err = await rejection(
      createPolicy({
        now: () => 1,
        plugins: [
          tracked(log, 'first', 3),
          noInit,
          tracked(log, 'broken', 1, {
            init: () => {
              throw cause;
            },
          }),
          tracked(log, 'later', 0),
        ],
      }),
    );
    const error = expectCode(err, 'POLICYD_ERR_PLUGIN_FAILED');
    expect(error.plugin).toBe('broken');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('plugin "broken" failed to initialise: cannot connect to SQL');
    expect(log).toEqual(['init first 1', 'close no-init', 'close first']);
  });

  it('logs a failing close and still closes the others', async () => {
    const log: string[] = [];
    const { logger, lines } = recordingLogger();
    const cause = new Error('pool already ended');
    const policy = await createPolicy({
      logger,
      now: () => 0,
      plugins: [
        tracked(log, 'a', 2),
        tracked(log, 'b', 1, {
          close: () => Promise.reject(cause),
        }),
        tracked(log, 'c', 0, {
          close: () => {
            throw 'sync failure';
          },
        }),
      ],
    });
    await expect(policy.close()).resolves.toBeUndefined();
    expect(log.slice(3)).toEqual(['close a']);
    const warns = lines.filter((l) => l.level === 'warn').map((l) => [l.fields.plugin, l.fields.err]);
    expect(warns).toEqual([
      ['c', 'sync failure'],
      ['b', cause],
    ]);
  });

  it('refuses to evaluate after close, even while closing', async () => {
    const gate = deferred<void>();
    const policy = await createPolicy({
      plugins: [{ name: 'p', check: () => Decision.ok(), close: () => gate.promise }],
    });
    const closing = policy.close();
    const err = await rejection(policy.evaluate(request()));
    expectCode(err, 'POLICYD_ERR_CLOSED');
    gate.resolve();
    await closing;
    expectCode(await rejection(policy.evaluate(request())), 'POLICYD_ERR_CLOSED');
  });

  it('finishes an evaluation that was running when close was called', async () => {
    const answer = deferred<Decision>();
    const policy = await createPolicy({ plugins: [{ name: 'p', check: () => answer.promise }] });
    const pending = policy.evaluate(request());
    await policy.close();
    answer.resolve(Decision.ok());
    expect((await pending).decision.action).toBe('OK');
  });
});

describe('options', () => {
  const ok: PolicyPlugin = { name: 'ok', check: () => Decision.ok() };

  it.each<[string, unknown]>([
    ['pluginTimeoutMs', { pluginTimeoutMs: 0 }],
    ['pluginTimeoutMs', { pluginTimeoutMs: Number.POSITIVE_INFINITY }],
    ['pluginTimeoutMs', { pluginTimeoutMs: '100' }],
    ['onPluginError', { onPluginError: 'retry' }],
    ['deferDecision', { deferDecision: { action: 'DEFERRED' } }],
    ['deferDecision', { deferDecision: { action: 'REPLY', code: 251, text: 'x' } }],
    ['now', { now: 5 }],
    ['logger', { logger: console.log }],
    ['logger', { logger: null }],
    ['sessionCache.maxEntries', { sessionCache: { maxEntries: -1 } }],
    ['plugins', { plugins: undefined }],
  ])('refuses an invalid %s', async (name, extra) => {
    const options = { plugins: [ok], ...(extra as object) } as PolicyOptions;
    const error = expectCode(await rejection(createPolicy(options)), 'POLICYD_ERR_INVALID_OPTION');
    expect(error.message).toContain(name);
  });

  it('refuses options that are not an object', async () => {
    expectCode(
      await rejection(createPolicy(undefined as unknown as PolicyOptions)),
      'POLICYD_ERR_INVALID_OPTION',
    );
  });

  it('refuses duplicate plugin names', async () => {
    const error = expectCode(
      await rejection(createPolicy({ plugins: [ok, ok] })),
      'POLICYD_ERR_DUPLICATE_PLUGIN',
    );
    expect(error.plugin).toBe('ok');
  });

  it('accepts a custom defer decision for one error policy only', async () => {
    const policies: ErrorPolicy[] = ['skip', 'defer', 'disconnect'];
    for (const onPluginError of policies) {
      const policy = await createPolicy({
        onPluginError,
        deferDecision: Decision.reply(421, 'bye'),
        plugins: [ok],
      });
      expect((await policy.evaluate(request())).decision.action).toBe('OK');
    }
  });
});
