/**
 * What iRedAPD's throttle notification says when a limit rejects for the first time in its window: the subject,
 * the body lines and the warning line this daemon logs alongside the e-mail (see `throttle-mailer.ts`).
 */

import type { Logger } from '@policyd/core';
import type { ThrottleEventRule, ThrottleLimitEvent } from '@policyd/plugin-throttle';

/** `bytes` for the byte limits, nothing for counts (iRedAPD's "unit"). */
function unitOf(rule: ThrottleEventRule['rule']): string {
  return rule === 'max_quota' || rule === 'msg_size' ? 'bytes' : '';
}

/**
 * iRedAPD's notification subject: `Throttle quota exceeded: <user>, <rule>=<limit> <unit>` (`bytes` for
 * `max_quota`, nothing for `max_msgs`; iRedAPD's trailing blank after an empty unit is dropped).
 */
export function throttleNoticeSubject(event: ThrottleLimitEvent): string {
  const unit = unitOf(event.rule);
  return `Throttle quota exceeded: ${event.user}, ${event.rule}=${event.limit}${unit === '' ? '' : ` ${unit}`}`;
}

/**
 * iRedAPD's "Detailed setting": every rule on the throttled side as `id=<id>/<rule>=<limit>[ (bytes)]/account=<a>; `,
 * grouped by setting (in the order the event lists them) and, within one, `msg_size`, `max_rcpts`, `max_msgs`,
 * `max_quota`.
 */
export function throttleDetailedSetting(event: ThrottleLimitEvent): string {
  const settings: number[] = [];
  for (const r of event.rules) if (!settings.includes(r.settingId)) settings.push(r.settingId);
  return settings
    .flatMap((id) => event.rules.filter((r) => r.settingId === id))
    .map((r) => {
      const bytes = unitOf(r.rule) === '' ? '' : ' (bytes)';
      return `id=${r.settingId}/${r.rule}=${r.limit}${bytes}/account=${r.account}; `;
    })
    .join('');
}

/**
 * iRedAPD's notification body: `- User:`, `- Client IP address:`, `- Throttle type:`, `- Throttle setting:`,
 * `- Limit:` and `- Detailed setting:` lines, each ending in a newline.
 */
export function throttleNoticeBody(event: ThrottleLimitEvent): string {
  const unit = unitOf(event.rule);
  return [
    `- User: ${event.user}`,
    `- Client IP address: ${event.clientAddress}`,
    `- Throttle type: ${event.kind}`,
    `- Throttle setting: ${event.rule}`,
    `- Limit: ${event.limit}${unit === '' ? '' : ` ${unit}`}`,
    `- Detailed setting: ${throttleDetailedSetting(event)}`,
    '',
  ].join('\n');
}

/**
 * A throttle `onLimitExceeded` callback that logs the event at `warn`, with iRedAPD's subject as the message
 * (a line to alert on even when the e-mail cannot be delivered).
 *
 * @example
 * ```ts
 * throttle({ store, domains, onLimitExceeded: logThrottleNotice(logger) });
 * ```
 */
export function logThrottleNotice(logger: Logger): (event: ThrottleLimitEvent) => void {
  return (event) => {
    logger.warn(
      {
        user: event.user,
        rule: event.rule,
        limit: event.limit,
        kind: event.kind,
        account: event.account,
        settingId: event.settingId,
        client: event.clientAddress,
      },
      throttleNoticeSubject(event),
    );
  };
}
