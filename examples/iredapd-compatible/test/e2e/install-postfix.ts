/**
 * Finds Postfix, or installs it from Debian's packages when it is missing.
 *
 * The package is installed with debconf's "No configuration" answer, so no /etc/postfix/main.cf is written and
 * no system instance is configured or started; the tests run their own instance (see `postfix.ts`).
 *
 * Run directly (`npx node examples/iredapd-compatible/test/e2e/install-postfix.ts`) it installs Postfix if needed
 * and exits 0, or prints why it cannot and exits 1: a CI script can call it before the tests.
 */

import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the installed Postfix lives, from `postconf -d`. */
export interface PostfixInstallation {
  /** `mail_version`, e.g. `3.7.11`. */
  readonly version: string;
  /** `command_directory`, holding `postfix` and `postconf` (usually `/usr/sbin`). */
  readonly commandDirectory: string;
  /** `daemon_directory`, holding `master`, `smtpd` … (usually `/usr/lib/postfix/sbin`). */
  readonly daemonDirectory: string;
}

/** Outcome of {@link ensurePostfix}: usable, or the reason it is not. */
export type PostfixAvailability =
  | { readonly available: true; readonly installation: PostfixInstallation; readonly installed: boolean }
  | { readonly available: false; readonly reason: string };

/** Options of {@link ensurePostfix}. */
export interface EnsurePostfixOptions {
  /** Install the Debian package when Postfix is missing; default true. */
  readonly install?: boolean;
  /** Upper bound for the whole installation (update included), in milliseconds; default 300 000. */
  readonly timeoutMs?: number;
  /** Progress lines (what is being run); default: none. */
  readonly log?: (line: string) => void;
}

const POSTCONF_CANDIDATES = ['/usr/sbin/postconf', '/usr/local/sbin/postconf'];
const APT_GET = '/usr/bin/apt-get';
const DEBCONF_SET_SELECTIONS = '/usr/bin/debconf-set-selections';
// Without this answer the package's default ("Internet Site") writes /etc/postfix/main.cf and starts a system
// instance on port 25; "No configuration" leaves the system untouched.
const DEBCONF_PRESEED = 'postfix postfix/main_mailer_type select No configuration\n';
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', DEBCONF_NONINTERACTIVE_SEEN: 'true' };

/**
 * Find Postfix; if it is missing (and `install` is not false), install the `postfix` package with apt-get,
 * running `apt-get update` once if the first attempt fails. Running the tests' instance also needs root
 * (Postfix's master refuses to run otherwise), so a non-root process gets `available: false`.
 */
export async function ensurePostfix(options: EnsurePostfixOptions = {}): Promise<PostfixAvailability> {
  const log = options.log ?? (() => {});
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  if (process.platform !== 'linux')
    return unavailable(`Postfix tests need Linux (this is ${process.platform})`);
  const root = process.getuid?.() === 0;
  const found = await findPostfix();
  if (found !== undefined) {
    if (!root) return unavailable('Postfix is installed, but its master must be started as root');
    return { available: true, installation: found, installed: false };
  }
  if (options.install === false) return unavailable('Postfix is not installed (postconf not found)');
  if (!root) return unavailable('Postfix is not installed, and installing it needs root');
  if (!(await exists(APT_GET))) return unavailable('Postfix is not installed, and apt-get is missing');

  if (await exists(DEBCONF_SET_SELECTIONS)) {
    log('preseeding debconf: postfix/main_mailer_type = No configuration');
    await run(DEBCONF_SET_SELECTIONS, [], { input: DEBCONF_PRESEED, deadline });
  }
  const install = [
    'install',
    '-y',
    '-q',
    '--no-install-recommends',
    '-o',
    'DPkg::Lock::Timeout=60',
    'postfix',
  ];
  log(`apt-get ${install.join(' ')}`);
  let result = await run(APT_GET, install, { env: APT_ENV, deadline });
  if (!result.ok) {
    // The package lists may be missing or stale (a fresh machine, a 404 on an old version): update once.
    log('apt-get install failed; running apt-get update once and trying again');
    const update = await run(APT_GET, ['update', '-q', '-o', 'DPkg::Lock::Timeout=60'], {
      env: APT_ENV,
      deadline,
    });
    if (!update.ok) return unavailable(`apt-get update failed:\n${tail(update.output)}`);
    result = await run(APT_GET, install, { env: APT_ENV, deadline });
  }
  if (!result.ok) return unavailable(`apt-get install postfix failed:\n${tail(result.output)}`);
  const installed = await findPostfix();
  if (installed === undefined)
    return unavailable('apt-get installed postfix, but postconf still cannot be run');
  if (!(await hasUser('postfix'))) return unavailable('the postfix package did not create the postfix user');
  log(`installed Postfix ${installed.version}`);
  return { available: true, installation: installed, installed: true };
}

/** Postfix's directories and version from `postconf -d`, or `undefined` when postconf is not there. */
export async function findPostfix(): Promise<PostfixInstallation | undefined> {
  for (const postconf of POSTCONF_CANDIDATES) {
    if (!(await exists(postconf))) continue;
    // -d: built-in defaults, so this works without /etc/postfix/main.cf (absent after "No configuration").
    const result = await run(
      postconf,
      ['-d', '-h', 'mail_version', 'command_directory', 'daemon_directory'],
      {
        deadline: Date.now() + 10_000,
      },
    );
    if (!result.ok) continue;
    const [version, commandDirectory, daemonDirectory] = result.stdout.trim().split('\n');
    if (version === undefined || commandDirectory === undefined || daemonDirectory === undefined) continue;
    if (!(await exists(`${daemonDirectory}/master`))) continue;
    return { version, commandDirectory, daemonDirectory };
  }
  return undefined;
}

interface RunResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly output: string;
}

function run(
  file: string,
  args: readonly string[],
  options: { readonly deadline: number; readonly env?: Record<string, string>; readonly input?: string },
): Promise<RunResult> {
  const timeout = Math.max(1, options.deadline - Date.now());
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        timeout,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...options.env },
      },
      (error, stdout, stderr) => {
        const timedOut = error !== null && 'killed' in error && error.killed === true;
        const note = timedOut ? `\n(${file} killed after ${timeout} ms)` : '';
        resolve({ ok: error === null, stdout, output: `${stdout}${stderr}${note}` });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function hasUser(name: string): Promise<boolean> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  return passwd.split('\n').some((line) => line.startsWith(`${name}:`));
}

function tail(output: string, lines = 20): string {
  return output.trimEnd().split('\n').slice(-lines).join('\n');
}

function unavailable(reason: string): PostfixAvailability {
  return { available: false, reason };
}

// Run as a script (not imported). import.meta.main would need Node 24.2; this works on every supported Node.
if (process.argv[1] !== undefined && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await ensurePostfix({ log: (line) => console.log(`install-postfix: ${line}`) });
  if (result.available) {
    const { version, daemonDirectory } = result.installation;
    console.log(`install-postfix: Postfix ${version} ready (${daemonDirectory})`);
  } else {
    console.error(`install-postfix: Postfix is not usable: ${result.reason}`);
    process.exitCode = 1;
  }
}
