/**
 * Binding a `node:net` server to a TCP address or a Unix socket path, with stale socket files removed.
 */

import { lstat, unlink } from 'node:fs/promises';
import { connect, type ListenOptions, type Server } from 'node:net';
import { PolicydError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { ListenAddress } from './server.ts';

// Host used when a TCP address names none: loopback, never all interfaces by surprise.
const DEFAULT_HOST = '127.0.0.1';

/**
 * Start `server` listening on `at` and resolve with the bound address (the real port for port 0). A TCP
 * address without `host` binds `127.0.0.1`.
 *
 * A Unix socket path that is already taken is removed and bound again only when it is a socket file that
 * nobody accepts connections on (a leftover of a crashed daemon); a live socket or any other kind of file
 * makes this reject with Node's `EADDRINUSE` error. The socket file gets the permissions of the process
 * umask; nothing is changed behind the caller's back.
 */
export async function bindServer(server: Server, at: ListenAddress, log: Logger): Promise<ListenAddress> {
  if ('path' in at) {
    if (typeof at.path !== 'string' || at.path === '') invalid('path', at.path);
    try {
      await listenOnce(server, { path: at.path });
    } catch (err) {
      if (!isErrno(err, 'EADDRINUSE') || !(await isStaleSocket(at.path))) throw err;
      log.info({ path: at.path }, 'removing a stale socket file nobody listens on');
      await unlink(at.path).catch((unlinkErr: unknown) => {
        if (!isErrno(unlinkErr, 'ENOENT')) throw unlinkErr;
      });
      await listenOnce(server, { path: at.path });
    }
    return { path: at.path };
  }
  const { host = DEFAULT_HOST, port } = at;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) invalid('port', port);
  if (typeof host !== 'string' || host === '') invalid('host', host);
  await listenOnce(server, { host, port });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') return { host, port };
  return { host: bound.address, port: bound.port };
}

function invalid(option: string, value: unknown): never {
  throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `invalid listen ${option} ${JSON.stringify(value)}`, {
    value,
  });
}

function listenOnce(server: Server, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}

// A socket file is stale when connecting to it is refused: no process holds it open for listening.
async function isStaleSocket(path: string): Promise<boolean> {
  const stats = await lstat(path).catch(() => undefined);
  if (stats === undefined || !stats.isSocket()) return false;
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err) => resolve(isErrno(err, 'ECONNREFUSED')));
  });
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
