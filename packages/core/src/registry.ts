/**
 * The plugin registry: validates plugins once, at start-up, and fixes their effective order.
 */

import { PolicydError } from './errors.ts';
import type { ErrorPolicy, PolicyPlugin } from './plugin.ts';
import type { ProtocolState } from './request.ts';

/** Every protocol state a plugin may declare in `states`. */
export const PROTOCOL_STATES: readonly ProtocolState[] = Object.freeze([
  'CONNECT',
  'EHLO',
  'HELO',
  'MAIL',
  'RCPT',
  'DATA',
  'END-OF-MESSAGE',
  'VRFY',
  'ETRN',
]);

/** States a plugin runs in when it declares none (iRedAPD's default). */
export const DEFAULT_PLUGIN_STATES: readonly ProtocolState[] = Object.freeze(['RCPT']);

const KNOWN_STATES: ReadonlySet<string> = new Set(PROTOCOL_STATES);
const ERROR_POLICIES: ReadonlySet<string> = new Set<ErrorPolicy>(['skip', 'defer', 'disconnect']);

/** An offending value as it appears in error messages: JSON for strings, arrays and objects. Never throws. */
export function showValue(value: unknown): string {
  try {
    return typeof value === 'string' || (typeof value === 'object' && value !== null)
      ? JSON.stringify(value)
      : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function invalid(label: string, field: string, expected: string, value: unknown, plugin?: string): never {
  const shown = showValue(value);
  const message = `${label}: "${field}" must be ${expected}, got ${shown}`;
  throw new PolicydError(
    'POLICYD_ERR_INVALID_OPTION',
    message,
    plugin === undefined ? { value } : { plugin, value },
  );
}

function validatePlugin(value: unknown, index: number): PolicyPlugin {
  if (typeof value !== 'object' || value === null) {
    return invalid(`plugin #${index}`, 'plugin', 'an object', value);
  }
  const p = value as Record<string, unknown>;
  if (typeof p.name !== 'string' || p.name.trim() === '') {
    return invalid(`plugin #${index}`, 'name', 'a non-empty string', p.name);
  }
  const name = p.name;
  const label = `plugin "${name}"`;
  if (typeof p.check !== 'function') invalid(label, 'check', 'a function', p.check, name);
  if (p.priority !== undefined && !Number.isFinite(p.priority)) {
    invalid(label, 'priority', 'a finite number', p.priority, name);
  }
  if (p.states !== undefined) {
    if (!Array.isArray(p.states) || p.states.length === 0) {
      invalid(label, 'states', 'a non-empty array of protocol states', p.states, name);
    }
    for (const state of p.states) {
      if (typeof state !== 'string' || !KNOWN_STATES.has(state)) {
        invalid(label, 'states', `one of ${PROTOCOL_STATES.join(', ')}`, state, name);
      }
    }
  }
  if (
    p.timeoutMs !== undefined &&
    !(typeof p.timeoutMs === 'number' && p.timeoutMs > 0 && p.timeoutMs < Infinity)
  ) {
    invalid(label, 'timeoutMs', 'a positive finite number of milliseconds', p.timeoutMs, name);
  }
  if (p.onError !== undefined && !(typeof p.onError === 'string' && ERROR_POLICIES.has(p.onError))) {
    invalid(label, 'onError', "'skip', 'defer' or 'disconnect'", p.onError, name);
  }
  if (p.init !== undefined && typeof p.init !== 'function')
    invalid(label, 'init', 'a function', p.init, name);
  if (p.close !== undefined && typeof p.close !== 'function')
    invalid(label, 'close', 'a function', p.close, name);
  return value as PolicyPlugin;
}

/**
 * Validate plugins and return them in their effective order: higher `priority` first (default 0), plugins
 * with equal priority in the order given. The result is frozen; the plugin objects themselves are not copied.
 *
 * Throws `POLICYD_ERR_INVALID_OPTION` (naming the plugin and the field) for a malformed plugin and
 * `POLICYD_ERR_DUPLICATE_PLUGIN` when two plugins share a name.
 *
 * @example
 * ```ts
 * sortPlugins([{ name: 'a', check }, { name: 'b', priority: 80, check }]).map((p) => p.name); // ['b', 'a']
 * ```
 */
export function sortPlugins(plugins: readonly PolicyPlugin[]): readonly PolicyPlugin[] {
  if (!Array.isArray(plugins)) invalid('policy', 'plugins', 'an array of plugins', plugins);
  const seen = new Set<string>();
  const valid = plugins.map((value, index) => {
    const plugin = validatePlugin(value, index);
    if (seen.has(plugin.name)) {
      throw new PolicydError('POLICYD_ERR_DUPLICATE_PLUGIN', `plugin "${plugin.name}" is registered twice`, {
        plugin: plugin.name,
        value: plugin.name,
      });
    }
    seen.add(plugin.name);
    return plugin;
  });
  // Array.prototype.sort is stable, so equal priorities keep registration order.
  return Object.freeze(valid.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0)));
}

/**
 * The effective order as text, one line per plugin: priority, name and protocol states, in aligned columns.
 * Returns `''` when there are no plugins.
 *
 * @example
 * ```ts
 * describePlugins(policy.plugins);
 * // 100  reject_null_sender  RCPT
 * //  80  greylisting         RCPT
 * //  60  throttle            END-OF-MESSAGE
 * ```
 */
export function describePlugins(plugins: readonly PolicyPlugin[]): string {
  const rows = plugins.map((p) => [
    String(p.priority ?? 0),
    p.name,
    (p.states ?? DEFAULT_PLUGIN_STATES).join(','),
  ]);
  const priorityWidth = Math.max(0, ...rows.map((r) => r[0]!.length));
  const nameWidth = Math.max(0, ...rows.map((r) => r[1]!.length));
  return rows
    .map(
      ([priority, name, states]) =>
        `${priority!.padStart(priorityWidth)}  ${name!.padEnd(nameWidth)}  ${states}`,
    )
    .join('\n');
}
