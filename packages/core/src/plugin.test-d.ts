import { describe, expectTypeOf, it } from 'vitest';
import {
  type AddressDecision,
  Decision,
  type DunnoDecision,
  type ReplyDecision,
  type TextDecision,
} from './decision.ts';
import {
  definePlugin,
  type ErrorPolicy,
  type PluginInitContext,
  type PolicyContext,
  type PolicyPlugin,
} from './plugin.ts';
import { createPolicy, type Evaluation, type Policy, type TraceOutcome } from './policy.ts';
import type { PolicyRequest, ProtocolState } from './request.ts';

describe('PolicyPlugin', () => {
  it('check takes the request and context and returns a Decision, sync or async', () => {
    expectTypeOf<PolicyPlugin['check']>().parameters.toEqualTypeOf<[PolicyRequest, PolicyContext]>();
    expectTypeOf<PolicyPlugin['check']>().returns.toEqualTypeOf<Decision | Promise<Decision>>();
    expectTypeOf({ name: 'sync', check: () => Decision.dunno() }).toExtend<PolicyPlugin>();
    expectTypeOf({ name: 'async', check: async () => Decision.ok() }).toExtend<PolicyPlugin>();
  });

  it('refuses a check that returns something other than a Decision', () => {
    // @ts-expect-error a string is not a decision
    const text: PolicyPlugin = { name: 'text', check: () => 'DUNNO' };
    // @ts-expect-error an unknown action is not a decision
    const unknownAction: PolicyPlugin = { name: 'odd', check: () => ({ action: 'ACCEPT' }) };
    // @ts-expect-error a promise of a string is not a decision
    const asyncText: PolicyPlugin = { name: 'async-text', check: async () => 'OK' };
    expectTypeOf([text, unknownAction, asyncText]).toBeArray();
  });

  it('requires a name', () => {
    // @ts-expect-error name is required
    const nameless: PolicyPlugin = { check: () => Decision.dunno() };
    // @ts-expect-error name must be a string
    const numbered: PolicyPlugin = { name: 1, check: () => Decision.dunno() };
    expectTypeOf([nameless, numbered]).toBeArray();
  });

  it('states only accept protocol states', () => {
    expectTypeOf<NonNullable<PolicyPlugin['states']>>().toEqualTypeOf<readonly ProtocolState[]>();
    const eom: PolicyPlugin = {
      name: 'eom',
      states: ['END-OF-MESSAGE', 'RCPT'],
      check: () => Decision.dunno(),
    };
    // @ts-expect-error protocol states are upper-case
    const lower: PolicyPlugin = { name: 'lower', states: ['rcpt'], check: () => Decision.dunno() };
    // @ts-expect-error UNKNOWN is a request state, not one a plugin can declare
    const unknown: PolicyPlugin = { name: 'unknown', states: ['UNKNOWN'], check: () => Decision.dunno() };
    expectTypeOf([eom, lower, unknown]).toBeArray();
  });

  it('onError only accepts an error policy', () => {
    expectTypeOf<NonNullable<PolicyPlugin['onError']>>().toEqualTypeOf<ErrorPolicy>();
    expectTypeOf<ErrorPolicy>().toEqualTypeOf<'skip' | 'defer' | 'disconnect'>();
    // @ts-expect-error 'ignore' is not an error policy
    const ignoring: PolicyPlugin = { name: 'i', onError: 'ignore', check: () => Decision.dunno() };
    expectTypeOf(ignoring).toExtend<PolicyPlugin>();
  });

  it('gives check a context with signal, session, log and now', () => {
    expectTypeOf<PolicyContext['signal']>().toEqualTypeOf<AbortSignal>();
    expectTypeOf<PolicyContext['session']>().toEqualTypeOf<Map<string, unknown>>();
    expectTypeOf<PolicyContext['now']>().returns.toBeNumber();
    expectTypeOf<PolicyContext>().toExtend<PluginInitContext>();
  });
});

describe('Decision', () => {
  it('narrows by action', () => {
    const look = (d: Decision) => {
      switch (d.action) {
        case 'REPLY':
          expectTypeOf(d).toEqualTypeOf<ReplyDecision>();
          expectTypeOf(d.code).toBeNumber();
          break;
        case 'REJECT':
        case 'DEFER':
          expectTypeOf(d).toEqualTypeOf<TextDecision>();
          expectTypeOf(d.text).toEqualTypeOf<string | undefined>();
          break;
        case 'BCC':
          expectTypeOf(d).toEqualTypeOf<AddressDecision>();
          break;
        case 'DUNNO':
          expectTypeOf(d).toEqualTypeOf<DunnoDecision>();
          // @ts-expect-error DUNNO carries no text
          expectTypeOf(d.text).toBeString();
          break;
      }
    };
    expectTypeOf(look).parameter(0).toEqualTypeOf<Decision>();
  });

  it('constructors return the narrow decision types', () => {
    expectTypeOf(Decision.dunno()).toEqualTypeOf<DunnoDecision>();
    expectTypeOf(Decision.reject('x')).toEqualTypeOf<TextDecision>();
    expectTypeOf(Decision.reply(451, 'later', '4.7.1')).toEqualTypeOf<ReplyDecision>();
  });
});

describe('definePlugin', () => {
  it('keeps the literal type of the plugin', () => {
    const plugin = definePlugin({
      name: 'reject_null_sender',
      priority: 100,
      check: () => Decision.reject('x'),
    });
    expectTypeOf(plugin.name).toEqualTypeOf<'reject_null_sender'>();
    expectTypeOf(plugin.priority).toEqualTypeOf<100>();
    expectTypeOf(plugin).toExtend<PolicyPlugin>();
  });

  it('checks the plugin shape', () => {
    // @ts-expect-error a plugin needs a check
    const checkless = definePlugin({ name: 'checkless' });
    expectTypeOf(checkless).not.toBeNever();
  });
});

describe('createPolicy', () => {
  it('resolves to a Policy whose evaluate resolves to an Evaluation', () => {
    expectTypeOf(createPolicy).returns.resolves.toEqualTypeOf<Policy>();
    expectTypeOf<Policy['evaluate']>().returns.resolves.toEqualTypeOf<Evaluation>();
    expectTypeOf<Evaluation['trace'][number]['outcome']>().toEqualTypeOf<TraceOutcome>();
    expectTypeOf<TraceOutcome>().toEqualTypeOf<'decided' | 'dunno' | 'failed' | 'timeout'>();
  });
});
