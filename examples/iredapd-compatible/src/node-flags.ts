/**
 * The Node.js (V8) flags the daemon runs with, and the start-up step that puts them in effect however the
 * daemon is launched (`node src/main.ts`, the `policyd-iredapd` bin, `npm start`, the systemd unit).
 *
 * Why: V8 sizes its heap from the machine's memory, not from what the daemon needs. Node.js (no pointer
 * compression) gives the young generation two 64 MB semi-spaces on a large host, and lets the old generation
 * grow to several times its live size before a full GC; under load the daemon then holds 250–330 MB of RSS
 * for a live heap of 20–50 MB. A 4 MB semi-space and a 20 % growth step bring it to 120–160 MB, for more
 * scavenges (objects of requests waiting on the database survive them) and more frequent full GCs: 20–40 %
 * more CPU per request at 8–32 connections. Measurements: docs/performance.md, "Daemon memory". The flags can
 * only be given when Node.js starts (command line or `NODE_OPTIONS`): `v8.setFlagsFromString` later does not
 * resize the heap. The same restart sets glibc's `MALLOC_ARENA_MAX` ({@link DAEMON_ENVIRONMENT}).
 */

/**
 * The flags, as given on `node`'s command line. The single source of truth: `main.ts` starts itself again with
 * them when they are missing, and bench/daemon.ts starts its daemon process with them.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = Object.freeze([
  '--max-semi-space-size=4',
  '--heap-growing-percent=20',
]);

/**
 * Environment variables the daemon runs with, unless the environment already sets them (the admin's value wins).
 * Like the flags, they only act when the process starts: glibc reads `MALLOC_ARENA_MAX` before any code runs.
 * Why: glibc gives every thread that allocates (V8's GC and compiler threads, libuv's pool) its own malloc
 * arena, 4 of 3–6 MB each under load, kept for the process's life; with 2 arenas (the main thread's and one
 * shared) the daemon's peak RSS is ≈ 12 MB lower at the same throughput (docs/performance.md, "Daemon memory").
 * Other C libraries (musl) ignore it.
 */
export const DAEMON_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' });

/**
 * The variables of `wanted` that `env` does not set, as `NAME=value`.
 *
 * @example
 * ```ts
 * missingEnvironment({ PATH: '/usr/bin' }); // ['MALLOC_ARENA_MAX=2']
 * ```
 */
export function missingEnvironment(
  env: NodeJS.ProcessEnv,
  wanted: Readonly<Record<string, string>> = DAEMON_ENVIRONMENT,
): string[] {
  return Object.entries(wanted)
    .filter(([name]) => env[name] === undefined)
    .map(([name, value]) => `${name}=${value}`);
}

// `--max-semi-space-size=2` → `max-semi-space-size`; `--no-single-threaded-gc` → `single-threaded-gc`. V8
// accepts `_` for `-` in names.
function flagName(flag: string): string {
  const name = flag.replace(/^--?/, '').split('=', 1)[0] ?? '';
  return name.replaceAll('_', '-').replace(/^no-/, '');
}

/**
 * The flags of `wanted` that the running process was not given, compared by name: a value the admin chose
 * (`--max-semi-space-size=8`, `--no-single-threaded-gc`, in `execArgv` or `NODE_OPTIONS`) is kept.
 *
 * @example
 * ```ts
 * missingNodeFlags(process.execArgv, process.env.NODE_OPTIONS); // [] when started with DAEMON_NODE_FLAGS
 * ```
 */
export function missingNodeFlags(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  wanted: readonly string[] = DAEMON_NODE_FLAGS,
): string[] {
  const given = new Set(
    [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('-')).map(flagName),
  );
  return wanted.filter((flag) => !given.has(flagName(flag)));
}

/** What {@link applyDaemonNodeFlags} needs of `process` (tests pass a fake). */
export interface NodeProcessLike {
  readonly execPath: string;
  readonly execArgv: readonly string[];
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly execve?: ((file: string, args?: readonly string[], env?: NodeJS.ProcessEnv) => never) | undefined;
}

/**
 * Put {@link DAEMON_NODE_FLAGS} and {@link DAEMON_ENVIRONMENT} in effect: when the process lacks any of them,
 * replace it (same PID, same standard streams, same arguments; `process.execve`) by `node <missing flags> <its
 * own flags> <script> <arguments>`, with its environment plus the missing variables. Returns only when nothing
 * was missing, or when the process cannot be replaced (Windows, Node.js before 22.15: then it returns what is
 * still missing, flags and `NAME=value`, for a warning).
 *
 * @example
 * ```ts
 * const missing = applyDaemonNodeFlags(process); // the first thing main.ts does
 * ```
 */
export function applyDaemonNodeFlags(proc: NodeProcessLike): string[] {
  const flags = missingNodeFlags(proc.execArgv, proc.env.NODE_OPTIONS);
  const environment = missingEnvironment(proc.env);
  const missing = [...flags, ...environment];
  const script = proc.argv[1];
  if (missing.length === 0 || proc.execve === undefined || script === undefined) return missing;
  try {
    proc.execve(proc.execPath, [proc.execPath, ...flags, ...proc.execArgv, script, ...proc.argv.slice(2)], {
      ...DAEMON_ENVIRONMENT,
      ...proc.env,
    });
  } catch {
    // Not allowed here (a permission model without child processes): run without the flags.
  }
  return missing;
}
