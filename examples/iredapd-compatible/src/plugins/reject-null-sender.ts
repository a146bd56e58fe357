/**
 * iRedAPD's `reject_null_sender`: an authenticated client must not send with the null sender (`MAIL FROM:<>`),
 * because a hijacked account would otherwise escape sender-based throttling.
 */

import { Decision, type PolicyPlugin } from '@policyd/core';

/** The plugin's name, as in iRedAPD's `plugins` setting. */
export const REJECT_NULL_SENDER_NAME = 'reject_null_sender';

/** iRedAPD's priority for the plugin. */
export const REJECT_NULL_SENDER_PRIORITY = 100;

/** The reject text (`REJECT Policy rejection due to null sender`). */
export const REJECT_NULL_SENDER_TEXT = 'Policy rejection due to null sender';

/**
 * Reject a null sender from a client that logged in (`sasl_username` set) with
 * `REJECT Policy rejection due to null sender`, at RCPT; everything else is DUNNO (real bounces come
 * unauthenticated). Logs iRedAPD's line `Possible spam (authenticated as … but sender address is null).`
 *
 * @example
 * ```ts
 * const policy = await createPolicy({ plugins: [rejectNullSender()] });
 * ```
 */
export function rejectNullSender(): PolicyPlugin {
  return {
    name: REJECT_NULL_SENDER_NAME,
    priority: REJECT_NULL_SENDER_PRIORITY,
    states: ['RCPT'],
    check(request, ctx) {
      const login = request.saslUsername.address;
      if (login === '') return Decision.dunno('not authenticated');
      if (request.sender.address !== '') return Decision.dunno('sender is not null');
      ctx.log.info(`Possible spam (authenticated as ${login} but sender address is null).`);
      return Decision.reject(REJECT_NULL_SENDER_TEXT, 'authenticated null sender');
    },
  };
}
