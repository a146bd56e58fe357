/**
 * `--print-plugins`: the effective plugin order, computed from the settings alone (no database is opened).
 */

import type { PluginOrder } from './plugin-table.ts';

/**
 * One line per enabled plugin, in the order they run: priority, iRedAPD name, protocol states; then the
 * warnings about `PLUGIN_PRIORITIES` keys that name no plugin.
 *
 * @example
 * ```ts
 * formatPluginOrder(selectPlugins(config.plugins));
 * // 100  reject_null_sender  RCPT
 * //  80  greylisting         RCPT
 * //  60  throttle            END-OF-MESSAGE
 * //  40  amavisd_wblist      RCPT
 * ```
 */
export function formatPluginOrder(order: PluginOrder): string {
  if (order.plugins.length === 0) return 'No plugins enabled: every request is answered DUNNO.\n';
  const priorityWidth = Math.max(...order.plugins.map((p) => String(p.priority).length));
  const nameWidth = Math.max(...order.plugins.map((p) => p.name.length));
  const lines = order.plugins.map(
    (p) =>
      `${String(p.priority).padStart(priorityWidth)}  ${p.name.padEnd(nameWidth)}  ${p.states.join(',')}`,
  );
  for (const warning of order.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
