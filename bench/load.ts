/**
 * Load generator speaking the policy protocol the way Postfix's smtpd does: N persistent connections, each
 * sending one request, waiting for its reply, then sending the next. Loopback (or a Unix socket) only; every
 * run is bounded by a duration and a request count, so it always stops by itself.
 *
 * Standalone: `npx node bench/load.ts --port 7777 [--host ::1] [--connections 32] [--duration 5000]`.
 */

import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

/** Where the server under test listens: a loopback TCP address or a Unix socket path. */
export type LoadTarget = { readonly host: string; readonly port: number } | { readonly path: string };

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Server under test. */
  readonly target: LoadTarget;
  /** Persistent connections, each with at most one request outstanding. */
  readonly connections: number;
  /** Measured time in milliseconds (after the warm-up). */
  readonly durationMs: number;
  /** Unmeasured time before it, in milliseconds; default 0. */
  readonly warmupMs?: number;
  /** Most measured requests; the run ends when reached even if time is left. Default 2 000 000. */
  readonly maxRequests?: number;
  /** The request sent over and over (with its final empty line); default {@link POSTFIX_RCPT_REQUEST}. */
  readonly request?: string;
}

/** Throughput and latency of one run. */
export interface LoadResult {
  /** Connections used. */
  readonly connections: number;
  /** Requests answered within the measured window. */
  readonly requests: number;
  /** Requests answered in all, the warm-up included. */
  readonly totalRequests: number;
  /** Length of the measured window in milliseconds. */
  readonly elapsedMs: number;
  /** Requests per second over the window. */
  readonly reqPerSec: number;
  /** Median latency (request written → reply complete) in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile latency in milliseconds. */
  readonly p99Ms: number;
  /** Worst latency in milliseconds. */
  readonly maxMs: number;
}

/** A RCPT request as Postfix 3.8 sends it (attribute set and order of `smtpd_check.c`), ~700 bytes. */
export const POSTFIX_RCPT_REQUEST = [
  'request=smtpd_access_policy',
  'protocol_state=RCPT',
  'protocol_name=ESMTP',
  'client_address=192.0.2.45',
  'client_name=mail.example.net',
  'client_port=52344',
  'reverse_client_name=mail.example.net',
  'server_address=198.51.100.10',
  'server_port=25',
  'helo_name=mail.example.net',
  'sender=newsletter+bounce-123@example.net',
  'recipient=john.doe@example.com',
  'recipient_count=0',
  'queue_id=',
  'instance=3f1a.67a2c1b4.8d0e2.0',
  'size=48213',
  'etrn_domain=',
  'stress=',
  'sasl_method=',
  'sasl_username=',
  'sasl_sender=',
  'ccert_subject=',
  'ccert_issuer=',
  'ccert_fingerprint=',
  'ccert_pubkey_fingerprint=',
  'encryption_protocol=TLSv1.3',
  'encryption_cipher=TLS_AES_256_GCM_SHA384',
  'encryption_keysize=256',
  'policy_context=',
  'compatibility_level=3.6',
  'mail_version=3.8.6',
  '',
  '',
].join('\n');

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost']);
const CONNECT_BATCH = 100; // stay below the listen backlog (511) when opening many connections
const STALL_MS = 10_000;

/** Open `count` connections to `target`, a batch at a time; rejects if one fails. */
export async function openConnections(target: LoadTarget, count: number): Promise<Socket[]> {
  if (!('path' in target) && !LOOPBACK_HOSTS.has(target.host)) {
    throw new Error(`load target must be loopback or a Unix socket, got ${target.host}`);
  }
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, () => {
      const socket = 'path' in target ? connect({ path: target.path }) : connect(target.port, target.host);
      socket.setNoDelay(true);
      sockets.push(socket);
      return new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
    });
    await Promise.all(batch);
  }
  return sockets;
}

/** Send one request on each socket and wait for all replies (to set connections up before measuring). */
export function pingAll(sockets: readonly Socket[], request: string = POSTFIX_RCPT_REQUEST): Promise<void> {
  return Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          let tail = '';
          const onData = (chunk: Buffer) => {
            tail = (tail + chunk.toString('latin1')).slice(-2);
            if (tail !== '\n\n') return;
            socket.off('data', onData);
            resolve();
          };
          socket.on('data', onData);
          socket.once('close', () => reject(new Error('connection closed by the server')));
          socket.write(request);
        }),
    ),
  ).then(() => {});
}

/**
 * Drive the server with `connections` sequential request streams and measure throughput and latency.
 *
 * @example
 * ```ts
 * const result = await runLoad({ target: { host: '127.0.0.1', port }, connections: 32, durationMs: 3000 });
 * console.log(result.reqPerSec, result.p99Ms);
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const request = Buffer.from(options.request ?? POSTFIX_RCPT_REQUEST, 'latin1');
  const maxRequests = options.maxRequests ?? 2_000_000;
  const warmupMs = options.warmupMs ?? 0;
  const sockets = await openConnections(options.target, options.connections);
  const latencies = new Float64Array(maxRequests);
  let measured = 0;
  let answered = 0;
  const started = performance.now();
  const windowStart = started + warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let lastReply = windowStart;

  try {
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve, reject) => {
            let sentAt = 0;
            let lastByte = 0; // last byte of the previous chunk, for a reply's "\n\n" split across reads
            const stall = setInterval(() => {
              if (performance.now() - sentAt > STALL_MS) reject(new Error(`no reply within ${STALL_MS} ms`));
            }, STALL_MS);
            const send = () => {
              sentAt = performance.now();
              socket.write(request);
            };
            socket.on('data', (chunk: Buffer) => {
              const n = chunk.length;
              const ends = chunk[n - 1] === 0x0a && (n > 1 ? chunk[n - 2] === 0x0a : lastByte === 0x0a);
              lastByte = chunk[n - 1]!;
              if (!ends) return;
              const now = performance.now();
              answered++;
              if (now >= windowStart && sentAt >= windowStart && measured < maxRequests) {
                latencies[measured++] = now - sentAt;
                lastReply = now;
              }
              if (now >= windowEnd || measured >= maxRequests) {
                clearInterval(stall);
                resolve();
              } else {
                send();
              }
            });
            socket.once('close', () => {
              clearInterval(stall);
              reject(new Error('connection closed by the server'));
            });
            send();
          }),
      ),
    );
  } finally {
    for (const socket of sockets) {
      socket.removeAllListeners('close');
      socket.on('error', () => {});
      socket.destroy();
    }
  }
  const sorted = latencies.subarray(0, measured).sort();
  const elapsedMs = Math.max(lastReply - windowStart, 1);
  return {
    connections: options.connections,
    requests: measured,
    totalRequests: answered,
    elapsedMs,
    reqPerSec: (measured / elapsedMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      path: { type: 'string' },
      connections: { type: 'string', default: '32' },
      duration: { type: 'string', default: '5000' },
      warmup: { type: 'string', default: '500' },
    },
  });
  const target: LoadTarget =
    values.path !== undefined ? { path: values.path } : { host: values.host, port: Number(values.port) };
  const result = await runLoad({
    target,
    connections: Number(values.connections),
    durationMs: Number(values.duration),
    warmupMs: Number(values.warmup),
  });
  console.log(JSON.stringify(result, null, 2));
}
