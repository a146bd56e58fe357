/**
 * Decisions: the typed form of Postfix access(5) actions, their constructors, and their wire text.
 *
 * A decision is a plain frozen object. `DUNNO` means "no opinion" and lets the next plugin run; every other
 * decision ends the evaluation. Text that ends up on the wire never contains CR, LF, NUL or other control
 * characters, whoever built the decision: {@link toAction} replaces them with spaces.
 */

import { PolicydError } from './errors.ts';

/** Actions that take an optional free text (access(5)). */
export type TextAction =
  | 'REJECT'
  | 'DEFER'
  | 'DEFER_IF_PERMIT'
  | 'DEFER_IF_REJECT'
  | 'DISCARD'
  | 'HOLD'
  | 'WARN'
  | 'INFO';

/** Every action name a {@link Decision} can carry. */
export type ActionName = Decision['action'];

interface Explained {
  /**
   * Why the plugin decided so, for traces, logs and `explain` (for example `whitelist:client-ip`).
   * Never sent to Postfix.
   */
  readonly reason?: string;
}

/** No opinion: the next plugin runs; if all say DUNNO, Postfix continues with its own restrictions. */
export interface DunnoDecision extends Explained {
  readonly action: 'DUNNO';
}
/** Accept: Postfix stops evaluating the current restriction list. */
export interface OkDecision extends Explained {
  readonly action: 'OK';
}
/** An action with optional text: `REJECT`, `DEFER`, `DISCARD`, `HOLD`, `WARN`, … */
export interface TextDecision extends Explained {
  readonly action: TextAction;
  /** Text after the action name; for rejects and defers Postfix shows it to the SMTP client. */
  readonly text?: string;
}
/** `PREPEND header: value` — add a header (not valid at END-OF-MESSAGE). */
export interface PrependDecision extends Explained {
  readonly action: 'PREPEND';
  /** Header name, printable ASCII without colon. */
  readonly header: string;
  /** Header value. */
  readonly value: string;
}
/** `REDIRECT addr` or `BCC addr`. */
export interface AddressDecision extends Explained {
  readonly action: 'REDIRECT' | 'BCC';
  /** The e-mail address to redirect to or to copy to. */
  readonly address: string;
}
/** `FILTER transport:destination` — send the message through a content filter. */
export interface FilterDecision extends Explained {
  readonly action: 'FILTER';
  /** `transport:destination`, as in master.cf. */
  readonly nexthop: string;
}
/** An explicit SMTP reply: `4NN [x.y.z] text` or `5NN [x.y.z] text`. */
export interface ReplyDecision extends Explained {
  readonly action: 'REPLY';
  /** SMTP reply code, 400–599. */
  readonly code: number;
  /** Enhanced status code (RFC 3463) such as `4.7.1`; its class matches `code`. */
  readonly status?: string;
  /** Reply text. */
  readonly text: string;
}

/** A plugin's answer to one request. Build it with the {@link Decision} constructors. */
export type Decision =
  | DunnoDecision
  | OkDecision
  | TextDecision
  | PrependDecision
  | AddressDecision
  | FilterDecision
  | ReplyDecision;

const TEXT_ACTIONS: ReadonlySet<string> = new Set<TextAction>([
  'REJECT',
  'DEFER',
  'DEFER_IF_PERMIT',
  'DEFER_IF_REJECT',
  'DISCARD',
  'HOLD',
  'WARN',
  'INFO',
]);

const HEADER_NAME = /^[!-9;-~]+$/;
const ENHANCED_STATUS = /^([245])\.\d{1,3}\.\d{1,3}$/;
// \S alone would let NUL and other control characters through to the wire.
const NEXTHOP = /^[^\s\u0000-\u001f\u007f:]+:[^\s\u0000-\u001f\u007f]*$/;
const NO_SPACE = /^[^\s\u0000-\u001f\u007f]+$/;

function invalid(message: string, value: unknown): never {
  throw new PolicydError('POLICYD_ERR_INVALID_DECISION', message, { value });
}

/** Replace every control character (CR, LF, NUL, TAB …) with a space and make the string well-formed. */
export function sanitizeText(text: string): string {
  return text.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, ' ');
}

function explained<T extends object>(decision: T, reason: string | undefined): T {
  return Object.freeze(reason === undefined ? decision : { ...decision, reason });
}

function textDecision(action: TextAction, text?: string, reason?: string): TextDecision {
  return explained(
    text === undefined || text === '' ? { action } : { action, text: sanitizeText(text) },
    reason,
  );
}

function reply(code: number, text: string, status?: string, reason?: string): ReplyDecision {
  if (!Number.isInteger(code) || code < 400 || code > 599) {
    invalid(`reply code must be an integer from 400 to 599, got ${String(code)}`, code);
  }
  if (status !== undefined) {
    const cls = ENHANCED_STATUS.exec(status)?.[1];
    if (cls !== String(code)[0])
      invalid(`enhanced status "${status}" does not match reply code ${code}`, status);
  }
  const clean = sanitizeText(text).trim();
  if (clean === '') invalid('a reply needs a text', text);
  return explained(
    status === undefined
      ? { action: 'REPLY', code, text: clean }
      : { action: 'REPLY', code, status, text: clean },
    reason,
  );
}

/**
 * Constructors for every decision. They validate structure (reply codes, header names, addresses) and throw
 * `POLICYD_ERR_INVALID_DECISION` when it is wrong; free text is sanitised, never rejected.
 *
 * @example
 * ```ts
 * Decision.dunno('not-local');                      // action=DUNNO
 * Decision.reject('Blacklisted');                   // action=REJECT Blacklisted
 * Decision.reply(451, 'Try again later', '4.7.1');  // action=451 4.7.1 Try again later
 * ```
 */
export const Decision = Object.freeze({
  /** No opinion; the next plugin runs. */
  dunno: (reason?: string): DunnoDecision => explained({ action: 'DUNNO' }, reason),
  /** Accept (`OK`). */
  ok: (reason?: string): OkDecision => explained({ action: 'OK' }, reason),
  /** `REJECT [text]`: permanent failure (5.7.1 unless the text says otherwise). */
  reject: (text?: string, reason?: string): TextDecision => textDecision('REJECT', text, reason),
  /** `DEFER [text]`: temporary failure. */
  defer: (text?: string, reason?: string): TextDecision => textDecision('DEFER', text, reason),
  /** `DEFER_IF_PERMIT [text]`: temporary failure unless a later restriction rejects. */
  deferIfPermit: (text?: string, reason?: string): TextDecision =>
    textDecision('DEFER_IF_PERMIT', text, reason),
  /** `DEFER_IF_REJECT [text]`: temporary failure if a later restriction rejects. */
  deferIfReject: (text?: string, reason?: string): TextDecision =>
    textDecision('DEFER_IF_REJECT', text, reason),
  /** `DISCARD [text]`: accept and silently drop. */
  discard: (text?: string, reason?: string): TextDecision => textDecision('DISCARD', text, reason),
  /** `HOLD [text]`: accept and put on hold. */
  hold: (text?: string, reason?: string): TextDecision => textDecision('HOLD', text, reason),
  /** `WARN [text]`: log a warning, no other effect. */
  warn: (text?: string, reason?: string): TextDecision => textDecision('WARN', text, reason),
  /** `INFO [text]`: log an informational line, no other effect (Postfix 3.0+). */
  info: (text?: string, reason?: string): TextDecision => textDecision('INFO', text, reason),
  /** `PREPEND header: value`. */
  prepend(header: string, value: string, reason?: string): PrependDecision {
    if (!HEADER_NAME.test(header)) invalid(`invalid header name "${header}"`, header);
    return explained({ action: 'PREPEND', header, value: sanitizeText(value) }, reason);
  },
  /** `REDIRECT address`. */
  redirect(address: string, reason?: string): AddressDecision {
    if (!NO_SPACE.test(address) || !address.includes('@'))
      invalid(`invalid redirect address "${address}"`, address);
    return explained({ action: 'REDIRECT', address }, reason);
  },
  /** `BCC address` (Postfix 3.0+). */
  bcc(address: string, reason?: string): AddressDecision {
    if (!NO_SPACE.test(address) || !address.includes('@'))
      invalid(`invalid bcc address "${address}"`, address);
    return explained({ action: 'BCC', address }, reason);
  },
  /** `FILTER transport:destination`. */
  filter(nexthop: string, reason?: string): FilterDecision {
    if (!NEXTHOP.test(nexthop))
      invalid(`invalid filter next-hop "${nexthop}", expected transport:destination`, nexthop);
    return explained({ action: 'FILTER', nexthop }, reason);
  },
  /** An explicit `4NN`/`5NN` reply with an optional enhanced status code. */
  reply,
});

/**
 * Check that `value` is a well-formed decision (plugins may build decisions as object literals) and
 * return it. Throws `POLICYD_ERR_INVALID_DECISION` otherwise.
 */
export function assertDecision(value: unknown): Decision {
  if (typeof value !== 'object' || value === null)
    invalid(`a decision must be an object, got ${typeof value}`, value);
  const d = value as Record<string, unknown>;
  const text = (key: string) => {
    const v = d[key];
    if (typeof v !== 'string') invalid(`decision ${String(d.action)} needs a string "${key}"`, value);
    return v;
  };
  switch (d.action) {
    case 'DUNNO':
    case 'OK':
      return value as Decision;
    case 'PREPEND':
      Decision.prepend(text('header'), text('value'));
      return value as Decision;
    case 'REDIRECT':
    case 'BCC':
      Decision[d.action === 'BCC' ? 'bcc' : 'redirect'](text('address'));
      return value as Decision;
    case 'FILTER':
      Decision.filter(text('nexthop'));
      return value as Decision;
    case 'REPLY':
      reply(d.code as number, text('text'), d.status as string | undefined);
      return value as Decision;
    default:
      if (typeof d.action === 'string' && TEXT_ACTIONS.has(d.action)) {
        if (d.text !== undefined) text('text');
        return value as Decision;
      }
      return invalid(`unknown decision action ${JSON.stringify(d.action)}`, value);
  }
}

/** The text after `action=` for a decision, sanitised: never contains CR, LF or NUL. */
export function toAction(decision: Decision): string {
  const d = assertDecision(decision);
  switch (d.action) {
    case 'DUNNO':
    case 'OK':
      return d.action;
    case 'PREPEND':
      return `PREPEND ${d.header}: ${sanitizeText(d.value)}`;
    case 'REDIRECT':
    case 'BCC':
      return `${d.action} ${d.address}`;
    case 'FILTER':
      return `FILTER ${d.nexthop}`;
    case 'REPLY':
      return `${d.code} ${d.status === undefined ? '' : `${d.status} `}${sanitizeText(d.text)}`;
    default:
      return d.text === undefined || d.text === '' ? d.action : `${d.action} ${sanitizeText(d.text)}`;
  }
}
