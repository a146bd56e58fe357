/**
 * Policy request attributes typed by an admin: `name=value` arguments on the command line, or the policy
 * protocol's `name=value` lines on stdin (as `postfix/smtpd` sends them, or copied from a debug log).
 */

import { PolicydError } from '@policyd/core';

const NAME = /^[a-z][a-z0-9_]*$/;

function attribute(text: string, where: string, into: Map<string, string>): void {
  const equals = text.indexOf('=');
  const name = equals < 0 ? '' : text.slice(0, equals);
  if (!NAME.test(name)) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `${where}: expected name=value with a Postfix attribute name (e.g. sender=a@example.com), got ${JSON.stringify(text)}`,
      { value: text },
    );
  }
  into.set(name, text.slice(equals + 1));
}

/**
 * Attributes from `name=value` arguments; a later one wins.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for an argument that is not `name=value`
 *
 * @example
 * ```ts
 * parseAttributeArgs(['sender=a@example.net', 'recipient=b@example.com']).get('sender'); // 'a@example.net'
 * ```
 */
export function parseAttributeArgs(args: readonly string[]): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const [i, arg] of args.entries()) attribute(arg, `argument ${i + 1}`, attrs);
  return attrs;
}

/**
 * Attributes from policy-protocol text: one `name=value` per line (`\r\n` accepted); empty lines and lines
 * starting with `#` are skipped.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the line that is not `name=value`
 */
export function parseAttributeText(text: string): Map<string, string> {
  const attrs = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) return;
    attribute(line, `line ${i + 1}`, attrs);
  });
  return attrs;
}
