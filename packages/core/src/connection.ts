/**
 * One policy connection: decode requests, evaluate them strictly one after another, answer in order, and
 * close on protocol errors, idleness, plugin failures under `disconnect`, or server shutdown.
 *
 * Memory per connection is bounded: the decoder caps a partial request, and reading is paused whenever
 * decoded requests are waiting (pipelining) or a reply cannot be written (the peer does not read), so the
 * queue never holds more than what one read delivered.
 */

import type { Socket } from 'node:net';
import { createRequestDecoder, type DecoderOptions, formatResponse } from './codec.ts';
import type { Decision } from './decision.ts';
import { PolicydError } from './errors.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { Evaluation, Policy } from './policy.ts';
import type { PolicyRequest } from './request.ts';
import { requestLogFields } from './request-log.ts';

/** What a connection needs from its server; resolved once per server. */
export interface ConnectionSettings {
  /** Evaluates each request. */
  readonly policy: Policy;
  /** Decoder limits and normalisation options. */
  readonly decoder: DecoderOptions;
  /** Close the connection after this long without traffic (no request pending). */
  readonly idleTimeoutMs: number;
  /** Deadline for one evaluation; then {@link ConnectionSettings.timeoutDecision} is sent. */
  readonly requestTimeoutMs: number;
  /** Answer sent when the deadline passes. */
  readonly timeoutDecision: Decision;
  /** Called after each reply is written (see `ServerOptions.onRequest`). */
  readonly onRequest: ((request: PolicyRequest, evaluation: Evaluation) => void) | undefined;
  /** Write the per-request `info` line. */
  readonly logRequests: boolean;
}

/** The server's handle on one connection. */
export interface PolicyConnection {
  /** Stop reading, answer the requests already decoded, then close (at once when idle). */
  shutdown(): void;
  /** Close at once, dropping unanswered requests. */
  destroy(): void;
}

interface InFlight {
  readonly request: PolicyRequest;
  readonly controller: AbortController;
  readonly startedAt: number;
}

// The per-request fields (an object, the action text) are wasted work when the line would be dropped: no
// logger, or pino below `info`. Asked per request because pino's level can change at run time.
function infoEnabled(log: Logger): boolean {
  if (log === silentLogger) return false;
  const { isLevelEnabled } = log as { isLevelEnabled?: unknown };
  return typeof isLevelEnabled !== 'function' || isLevelEnabled.call(log, 'info') === true;
}

const QUIET_SOCKET_ERRORS: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * Serve the policy protocol on `socket` until it closes; `onClose` runs once when it has.
 * `log` should already carry the connection's identity (remote address).
 */
export function serveConnection(
  socket: Socket,
  settings: ConnectionSettings,
  log: Logger,
  onClose: () => void,
): PolicyConnection {
  const { policy, requestTimeoutMs, timeoutDecision } = settings;
  const decoder = createRequestDecoder(settings.decoder);
  const queue: PolicyRequest[] = [];
  let inFlight: InFlight | undefined;
  // One deadline timer per connection, and no timer work per request: an evaluation that starts while the
  // timer is armed leaves it alone. When it fires, it compares the start of whatever is in flight with the
  // deadline: past it, the request times out; not yet, the timer is armed again for the rest; nothing in
  // flight, it lapses until the next evaluation arms it.
  let deadline: NodeJS.Timeout | undefined;
  let deadlineArmed = false;
  let reading = true; // false after a protocol error, the peer's end of stream, or shutdown
  let paused = false;
  let waitingForDrain = false;
  let closing = false;

  function onData(chunk: Buffer): void {
    if (!reading) return;
    const { requests, error } = decoder.push(chunk);
    for (const request of requests) queue.push(request);
    if (error !== undefined) {
      log.warn(
        { reason: error.reason, err: error.message, answered: requests.length },
        'protocol error: closing the connection without a reply',
      );
      stopReading();
    }
    pump();
  }

  function stopReading(): void {
    reading = false;
    if (!paused) {
      paused = true;
      socket.pause();
    }
  }

  // Start the next evaluation, or close / resume reading when there is nothing left to do.
  function pump(): void {
    if (inFlight !== undefined || waitingForDrain || socket.destroyed) return;
    const request = queue.shift();
    if (request === undefined) {
      if (!reading) end();
      else if (paused) {
        paused = false;
        socket.resume();
      }
      return;
    }
    if (queue.length > 0 && !paused) {
      paused = true;
      socket.pause();
    }
    evaluate(request);
  }

  function evaluate(request: PolicyRequest): void {
    const controller = new AbortController();
    const current: InFlight = { request, controller, startedAt: performance.now() };
    inFlight = current;
    if (!deadlineArmed) armDeadline(requestTimeoutMs);
    let pending: Promise<Evaluation>;
    try {
      pending = policy.evaluate(request, { signal: controller.signal });
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (evaluation) => onEvaluation(current, evaluation),
      (err: unknown) => onFailure(current, err),
    );
  }

  function onEvaluation(current: InFlight, evaluation: Evaluation): void {
    if (inFlight !== current) return; // timed out or the connection closed meanwhile
    inFlight = undefined;
    if (evaluation.disconnect) {
      log.warn(
        requestLogFields(current.request, evaluation),
        'plugin failed under the "disconnect" error policy: closing without a reply',
      );
      socket.destroy();
      return;
    }
    if (settings.logRequests && infoEnabled(log)) {
      log.info(requestLogFields(current.request, evaluation), 'policy request');
    }
    reply(evaluation.decision);
    answered(current.request, evaluation);
  }

  function answered(request: PolicyRequest, evaluation: Evaluation): void {
    if (settings.onRequest === undefined) return;
    try {
      settings.onRequest(request, evaluation);
    } catch (err) {
      log.error({ err }, 'onRequest failed');
    }
  }

  // Only called when no timer is pending (never armed, or it has fired), so there is nothing to clear.
  function armDeadline(delayMs: number): void {
    deadlineArmed = true;
    deadline = setTimeout(onDeadline, delayMs);
  }

  function onDeadline(): void {
    deadlineArmed = false;
    const current = inFlight;
    if (current === undefined) return;
    const left = requestTimeoutMs - (performance.now() - current.startedAt);
    // Not due yet: the timer was armed for an earlier request (or fired a hair early by this clock, libuv
    // reading its time once per loop turn). Wait for the rest.
    if (left > 0) {
      armDeadline(Math.ceil(left));
      return;
    }
    inFlight = undefined;
    current.controller.abort(
      new PolicydError('POLICYD_ERR_PLUGIN_TIMEOUT', `request not answered within ${requestTimeoutMs} ms`, {
        value: requestTimeoutMs,
      }),
    );
    const evaluation: Evaluation = {
      decision: timeoutDecision,
      disconnect: false,
      decidedBy: undefined,
      trace: [],
      durationMs: performance.now() - current.startedAt,
    };
    log.warn(
      { ...requestLogFields(current.request, evaluation), timeoutMs: requestTimeoutMs },
      'request deadline passed: answering the timeout decision',
    );
    reply(timeoutDecision);
    answered(current.request, evaluation);
  }

  // Policy.evaluate contains plugin failures, so a rejection is a bug: never guess an answer (Postfix
  // applies its default_action when the server closes without replying).
  function onFailure(current: InFlight, err: unknown): void {
    if (inFlight !== current) return;
    inFlight = undefined;
    log.error({ err }, 'policy evaluation failed: closing the connection without a reply');
    socket.destroy();
  }

  function reply(decision: Decision): void {
    if (socket.destroyed || !socket.writable) return;
    if (socket.write(formatResponse(decision))) {
      pump();
      return;
    }
    // The peer is not reading its replies: evaluate nothing more until the kernel takes the data.
    waitingForDrain = true;
    socket.once('drain', () => {
      waitingForDrain = false;
      pump();
    });
  }

  // Close gracefully: flush what was written, then release the descriptor.
  function end(): void {
    if (closing) return;
    closing = true;
    socket.end(() => socket.destroy());
  }

  socket.setTimeout(settings.idleTimeoutMs);
  socket.on('timeout', () => {
    if (inFlight !== undefined) return; // busy, not idle: the request deadline applies
    if (waitingForDrain || closing) {
      // Replies have been stuck for a whole idle period: the peer does not read, so do not wait for it.
      log.info(
        { idleTimeoutMs: settings.idleTimeoutMs },
        'peer not reading its replies: closing the connection',
      );
      socket.destroy();
      return;
    }
    log.info({ idleTimeoutMs: settings.idleTimeoutMs }, 'idle timeout: closing the connection');
    stopReading();
    end();
  });
  socket.on('data', onData);
  socket.on('end', () => {
    // The peer half-closed: answer what it sent (allowHalfOpen), then close our side.
    if (decoder.pendingBytes > 0) log.debug({ bytes: decoder.pendingBytes }, 'peer closed in mid-request');
    reading = false;
    pump();
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    // Peers vanishing is routine; anything else deserves attention. The socket closes after either.
    if (err.code !== undefined && QUIET_SOCKET_ERRORS.has(err.code)) log.debug({ err }, 'socket error');
    else log.warn({ err }, 'socket error');
  });
  socket.on('close', () => {
    clearTimeout(deadline);
    const current = inFlight;
    if (current !== undefined) {
      inFlight = undefined;
      current.controller.abort(
        new PolicydError('POLICYD_ERR_CLOSED', 'the connection closed before the reply'),
      );
      log.debug({}, 'connection closed with a request in flight');
    }
    queue.length = 0;
    onClose();
  });

  return {
    shutdown() {
      if (socket.destroyed) return;
      stopReading();
      pump();
    },
    destroy() {
      socket.destroy();
    },
  };
}
