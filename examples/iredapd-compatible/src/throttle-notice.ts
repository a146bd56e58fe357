/**
 * What the daemon does when a throttle limit rejects for the first time in its window: iRedAPD e-mails
 * `NOTIFICATION_RECIPIENTS`; this daemon writes the same facts as one warning line (the e-mail is not sent).
 */

import type { Logger } from '@policyd/core';
import type { ThrottleLimitEvent } from '@policyd/plugin-throttle';

/**
 * iRedAPD's notification subject: `Throttle quota exceeded: <user>, <rule>=<limit> <unit>` (`bytes` for
 * `max_quota`, nothing for `max_msgs`).
 */
export function throttleNoticeSubject(event: ThrottleLimitEvent): string {
  const unit = event.rule === 'max_quota' ? ' bytes' : '';
  return `Throttle quota exceeded: ${event.user}, ${event.rule}=${event.limit}${unit}`;
}

/**
 * A throttle `onLimitExceeded` callback that logs the event at `warn`, with iRedAPD's subject as the message.
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
