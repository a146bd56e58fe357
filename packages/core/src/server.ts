/**
 * The policy server: accepts Postfix `smtpd` connections on TCP or Unix sockets and answers each request with
 * a {@link Policy}. Framing and evaluation live elsewhere (codec, policy); this file owns sockets and lifecycle.
 */

import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createRequestDecoder, type DecoderOptions } from './codec.ts';
import { type ConnectionSettings, type PolicyConnection, serveConnection } from './connection.ts';
import { assertDecision, Decision } from './decision.ts';
import { PolicydError } from './errors.ts';
import { bindServer } from './listen.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { Evaluation, Policy } from './policy.ts';
import type { PolicyRequest } from './request.ts';

/** Options of {@link createServer}; the decoder limits (`maxLineBytes` …) and normalisation options included. */
export interface ServerOptions extends DecoderOptions {
  /** Where connection events and the per-request line go; default {@link silentLogger}. */
  readonly logger?: Logger;
  /**
   * Close a connection after this many milliseconds without traffic; default 600 000, longer than Postfix's
   * `smtpd_policy_service_max_idle` (300 s) so that Postfix, not the server, retires idle connections.
   */
  readonly idleTimeoutMs?: number;
  /** Open connections allowed at once; default 1 000. A connection beyond it is closed at once and logged. */
  readonly maxConnections?: number;
  /**
   * Deadline for answering one request, in milliseconds; default 10 000 (Postfix gives up after
   * `smtpd_policy_service_timeout`, 100 s). When it passes, plugins are aborted through their signal and
   * {@link ServerOptions.timeoutDecision} is sent.
   */
  readonly requestTimeoutMs?: number;
  /** Answer sent when a request's deadline passes; default `Decision.dunno('request-timeout')`. */
  readonly timeoutDecision?: Decision;
  /** Upper bound for a graceful {@link PolicyServer.close}, in milliseconds; default 10 000. */
  readonly closeTimeoutMs?: number;
  /**
   * Called once per answered request, right after its reply was written (also when the deadline passed, with
   * the timeout decision): the place for an application's own request log or accounting. It must not block;
   * start slow work without awaiting it. A throw is logged at `error` and ignored.
   */
  readonly onRequest?: (request: PolicyRequest, evaluation: Evaluation) => void;
  /**
   * Write the per-request `info` line; default true. Set it to false when {@link ServerOptions.onRequest}
   * logs requests itself. Warnings (deadline passed, disconnect) are written either way.
   */
  readonly logRequests?: boolean;
}

/**
 * Where to listen: a TCP host and port (`host` defaults to `127.0.0.1`; use `'::'` or `'0.0.0.0'` to listen on
 * every interface, port 0 for any free port), or the path of a Unix socket.
 */
export type ListenAddress = { readonly host?: string; readonly port: number } | { readonly path: string };

/** A running policy server. */
export interface PolicyServer {
  /**
   * Listen on one more address; resolves with the bound address (port 0 becomes the real port).
   * May be called several times (say, TCP and a Unix socket). A Unix socket file left behind by a dead
   * process is replaced; a live one makes this reject with `EADDRINUSE`. The socket file is created with the
   * process umask: set the umask (or `chmod` it afterwards) so that Postfix's `smtpd` may connect.
   * Rejects with `POLICYD_ERR_CLOSED` after {@link PolicyServer.close}.
   */
  listen(at: ListenAddress): Promise<ListenAddress>;
  /** Connections currently open. */
  readonly connections: number;
  /**
   * Stop accepting, answer the requests already received, close idle connections at once and busy ones
   * after their reply; whatever is still open after `closeTimeoutMs` is destroyed. Resolves when every
   * listener and connection is closed. Idempotent. The policy is not closed: call `policy.close()` after.
   */
  close(): Promise<void>;
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * Create a policy server for `policy`. Requests on one connection are evaluated strictly one after another
 * and answered in order; a protocol error or a plugin failure under the `disconnect` error policy closes the
 * connection without a reply, so Postfix applies its `default_action`. Each answered request is logged once:
 * at `info` with the fields of `requestLogFields`, or at `warn` when its deadline passed or it ended in a disconnect.
 *
 * @example
 * ```ts
 * const server = createServer(await createPolicy({ plugins }), { logger: pino() });
 * await server.listen({ host: '127.0.0.1', port: 7777 }); // main.cf: check_policy_service inet:127.0.0.1:7777
 * process.once('SIGTERM', () => server.close());
 * ```
 */
export function createServer(policy: Policy, options: ServerOptions = {}): PolicyServer {
  const log = options.logger ?? silentLogger;
  const maxConnections = positiveInteger('maxConnections', options.maxConnections, 1_000);
  const closeTimeoutMs = positiveInteger('closeTimeoutMs', options.closeTimeoutMs, 10_000, MAX_TIMER_MS);
  const settings: ConnectionSettings = {
    policy,
    decoder: options,
    idleTimeoutMs: positiveInteger('idleTimeoutMs', options.idleTimeoutMs, 600_000, MAX_TIMER_MS),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000, MAX_TIMER_MS),
    timeoutDecision: timeoutDecision(options.timeoutDecision),
    onRequest: options.onRequest,
    logRequests: options.logRequests ?? true,
  };
  createRequestDecoder(options); // invalid decoder limits fail here, not at the first connection
  const servers = new Set<Server>();
  const connections = new Set<PolicyConnection>();
  let nextId = 1;
  let closed: Promise<void> | undefined;
  let whenEmpty: (() => void) | undefined;

  function accept(socket: Socket, unixPath: string | undefined): void {
    const remote = unixPath === undefined ? tcpRemote(socket) : `unix:${unixPath}`;
    if (closed !== undefined || connections.size >= maxConnections) {
      socket.on('error', () => {}); // the socket is going away; nothing to report
      socket.destroy();
      if (closed === undefined) log.warn({ remote, maxConnections }, 'connection limit reached: closing it');
      return;
    }
    const connLog = log.child({ conn: nextId++, remote });
    const connection = serveConnection(socket, settings, connLog, () => {
      connections.delete(connection);
      connLog.debug({}, 'connection closed');
      if (connections.size === 0) whenEmpty?.();
    });
    connections.add(connection);
    connLog.debug({}, 'connection opened');
  }

  async function shutdown(): Promise<void> {
    const stopped = [...servers].map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    const drained = new Promise<void>((resolve) => {
      if (connections.size === 0) resolve();
      else whenEmpty = resolve;
    });
    for (const connection of connections) connection.shutdown();
    const force = setTimeout(() => {
      log.warn(
        { connections: connections.size, closeTimeoutMs },
        'close timeout: destroying open connections',
      );
      for (const connection of connections) connection.destroy();
    }, closeTimeoutMs);
    await Promise.all([drained, ...stopped]);
    clearTimeout(force);
    servers.clear();
  }

  return Object.freeze({
    async listen(at: ListenAddress): Promise<ListenAddress> {
      if (closed !== undefined) throw closedError();
      const server = createNetServer({ allowHalfOpen: true, noDelay: true });
      const unixPath = 'path' in at ? at.path : undefined;
      server.on('connection', (socket: Socket) => accept(socket, unixPath));
      const bound = await bindServer(server, at, log);
      if (closed !== undefined) {
        server.close();
        throw closedError();
      }
      // Accept failures (EMFILE …) arrive here; the server keeps listening.
      server.on('error', (err) => log.error({ err }, 'server error'));
      servers.add(server);
      log.info({ address: bound }, 'listening');
      return bound;
    },
    get connections() {
      return connections.size;
    },
    close(): Promise<void> {
      closed ??= shutdown();
      return closed;
    },
  });
}

function positiveInteger(name: string, value: number | undefined, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `${name} must be an integer from 1 to ${max}, got ${String(value)}`,
      { value },
    );
  }
  return value;
}

function timeoutDecision(value: Decision | undefined): Decision {
  if (value === undefined) return Decision.dunno('request-timeout');
  try {
    return assertDecision(value);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `timeoutDecision is not a valid decision: ${why}`, {
      value,
      cause,
    });
  }
}

function tcpRemote(socket: Socket): string {
  const { remoteAddress: address, remotePort: port } = socket;
  if (address === undefined) return 'unknown';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function closedError(): PolicydError {
  return new PolicydError('POLICYD_ERR_CLOSED', 'the policy server is closed');
}
