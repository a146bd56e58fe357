/**
 * Runs a private Postfix instance for end-to-end tests: its own configuration directory, queue and data
 * directories in a temporary directory, SMTP on loopback ports, `check_policy_service` at RCPT and
 * END-OF-MESSAGE, and every accepted message delivered to the `discard` transport.
 *
 * How it runs: `postfix -c <dir> check` creates the queue and data directories with Postfix's own ownership
 * rules, then `master -c <dir> -d` runs as a child process in its own process group, and `stop()` ends that
 * group. Every Postfix command gets `-c <dir>` and `MAIL_CONFIG=<dir>`; nothing is ever started without them,
 * so /etc/postfix and a system instance (if any) are never read for settings, changed, started or stopped. As
 * root, `-c` needs no `alternate_config_directories` entry in the default main.cf (that check applies only to
 * unprivileged set-gid commands such as postdrop, which these tests do not use).
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PostfixInstallation } from './install-postfix.ts';
import { connectSmtp } from './smtp-client.ts';

/** Where Postfix finds the policy service. */
export interface PolicyServiceAddress {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  readonly port: number;
}

/** One SMTP listener of the instance, with its own policy service and policy-failure behaviour. */
export interface SmtpListenerOptions {
  /** The policy service this listener asks; default {@link PostfixOptions.policy}. */
  readonly policy?: PolicyServiceAddress;
  /**
   * `default_action` of its `check_policy_service` (what Postfix does when the policy service cannot be
   * reached): e.g. `DUNNO` to fail open. Omitted: Postfix's built-in `451 4.3.5 Server configuration problem`.
   */
  readonly defaultAction?: string;
}

/** Options of {@link startPostfix}. */
export interface PostfixOptions {
  /** The policy service that `check_policy_service` calls (unless a listener names its own). */
  readonly policy: PolicyServiceAddress;
  /**
   * SMTP listeners by name (letters, digits, `_`), each on its own free loopback port; default
   * `{ main: {} }`. Several listeners let one instance show several `default_action`s.
   */
  readonly listeners?: Readonly<Record<string, SmtpListenerOptions>>;
  /** Domains Postfix accepts mail for (relay domains, delivered to `discard:`); default example.com/net/org. */
  readonly domains?: readonly string[];
  /**
   * `mynetworks`: clients that `permit_mynetworks` lets through without asking the policy service. Default
   * `127.0.0.1/32` only, so the address a test sets with XCLIENT ADDR (192.0.2.x, say) is not trusted.
   */
  readonly mynetworks?: readonly string[];
  /**
   * `smtpd_recipient_restrictions`, given the listener's `check_policy_service { … }` item. Default
   * `permit_mynetworks, reject_unauth_destination, <policy>`.
   */
  readonly recipientRestrictions?: (policyCheck: string) => readonly string[];
  /** Call the policy service at END-OF-MESSAGE too (`smtpd_end_of_data_restrictions`); default true. */
  readonly endOfData?: boolean;
  /** `timeout=` of the policy service in seconds; default 10. */
  readonly policyTimeoutSeconds?: number;
  /** Further main.cf parameters; they override the defaults above. */
  readonly mainCf?: Readonly<Record<string, string>>;
  /** Limit for the instance to answer SMTP after start, in milliseconds; default 30 000. */
  readonly startTimeoutMs?: number;
  /** Keep the temporary directory after `stop()` (for debugging); default: env `POLICYD_E2E_KEEP` is set. */
  readonly keepDirectory?: boolean;
}

/** A running private Postfix instance; see {@link startPostfix}. */
export interface PostfixInstance {
  /** The Postfix version. */
  readonly version: string;
  /** The temporary directory holding `config/`, `queue/`, `data/` and `maillog`. */
  readonly directory: string;
  /** The configuration directory (`main.cf`, `master.cf`): what `-c` points at. */
  readonly configDirectory: string;
  /** SMTP host of every listener: `127.0.0.1`. */
  readonly host: string;
  /** SMTP port of each listener, by name. */
  readonly ports: Readonly<Record<string, number>>;
  /** SMTP port of one listener (default `main`); throws for an unknown name. */
  port(listener?: string): number;
  /** Postfix's log so far (its `maillog_file`). */
  log(): Promise<string>;
  /** Wait until the log has a line matching `pattern`; resolves with that line, rejects after `timeoutMs`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Stop the master and every process it started, then remove the directory. Idempotent; never throws. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const LISTENER_NAME = /^[a-z0-9_]+$/i;
const DEFAULT_DOMAINS = ['example.com', 'example.net', 'example.org'];

/** Start a private Postfix instance (as root; see `ensurePostfix` in `install-postfix.ts`). */
export async function startPostfix(
  installation: PostfixInstallation,
  options: PostfixOptions,
): Promise<PostfixInstance> {
  const listeners = Object.entries(options.listeners ?? { main: {} });
  if (listeners.length === 0) throw new Error('startPostfix needs at least one listener');
  for (const [name] of listeners) {
    if (!LISTENER_NAME.test(name)) throw new Error(`invalid listener name ${JSON.stringify(name)}`);
  }

  const directory = await mkdtemp(join(tmpdir(), 'policyd-postfix-'));
  // Postfix's daemons run as the postfix user after chdir/chroot; keep the path traversable for them.
  await chmod(directory, 0o755);
  const configDirectory = join(directory, 'config');
  await mkdir(configDirectory, { mode: 0o755 });
  // postfix(1) chdirs into the queue directory before anything else; `check` fills it in.
  await mkdir(join(directory, 'queue'), { mode: 0o755 });
  const env = { ...process.env, MAIL_CONFIG: configDirectory };
  const keep = options.keepDirectory ?? process.env.POLICYD_E2E_KEEP !== undefined;
  let master: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;

  const ports: Record<string, number> = {};
  for (const [name] of listeners) ports[name] = await freeLoopbackPort();
  const maillog = join(directory, 'maillog');
  const readLog = () => readFile(maillog, 'utf8').catch(() => '');

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.off('exit', killOnExit);
      if (master !== undefined) await stopProcessGroup(master);
      if (!keep) await rm(directory, { recursive: true, force: true }).catch(() => {});
    })();
    return stopped;
  };
  // Last resort if the test process exits without afterAll (a crash): no master survives it.
  const killOnExit = (): void => {
    if (master?.pid !== undefined) killGroup(master.pid, 'SIGKILL');
  };

  try {
    await writeFile(join(configDirectory, 'main.cf'), mainCf(directory, options, listeners));
    await writeFile(join(configDirectory, 'master.cf'), masterCf(listeners, ports));
    // `check` runs post-install create-missing: it makes queue/ and data/ with the owners and modes Postfix
    // insists on (it reads the file list from /etc/postfix/postfix-files and writes nothing there).
    const check = await postfixCommand(installation, configDirectory, ['check'], env);
    if (!check.ok) {
      const logged = `${check.output}${await readLog()}`;
      const why =
        logged || (await postfixCommand(installation, configDirectory, ['check'], env, true)).output;
      throw new Error(`postfix -c ${configDirectory} check failed:\n${why}`);
    }

    const masterPath = join(installation.daemonDirectory, 'master');
    // -d: stay a plain child with our stdio (no setsid of its own; `detached` below makes the group).
    const daemon = spawn(masterPath, ['-c', configDirectory, '-d'], {
      env,
      // Own process group (setsid): master's SIGTERM handler signals its group, and stop() can end it all.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    master = daemon;
    process.on('exit', killOnExit);
    let output = '';
    daemon.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    daemon.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<string>((resolve) => {
      daemon.once('exit', (code, signal) => resolve(`master exited (${signal ?? `code ${String(code)}`})`));
      daemon.once('error', (error) => resolve(`master could not be started: ${error.message}`));
    });
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (const [name] of listeners) {
      const ready = await Promise.race([waitForGreeting(ports[name] ?? 0, deadline), exited]);
      if (ready !== true) {
        const reason = ready === false ? `listener ${name} gave no SMTP greeting in time` : ready;
        // Messages from before its logging is set up (a port in use, say) go to syslog only, or to a terminal.
        const hint = `(to see them: POLICYD_E2E_KEEP=1, then script -qec '${masterPath} -c ${configDirectory} -d' /dev/null)`;
        throw new Error(`Postfix did not start: ${reason}\n${output}${await readLog()}${hint}`);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    version: installation.version,
    directory,
    configDirectory,
    host: HOST,
    ports,
    port(listener = 'main') {
      const port = ports[listener];
      if (port === undefined) throw new Error(`no Postfix listener named ${JSON.stringify(listener)}`);
      return port;
    },
    log: readLog,
    async waitForLog(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = (await readLog()).split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (Date.now() > deadline)
          throw new Error(`no Postfix log line matching ${pattern} in ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    stop,
  };
}

/** The `check_policy_service { … }` restriction for one listener. */
export function policyCheck(
  policy: PolicyServiceAddress,
  timeoutSeconds: number,
  defaultAction?: string,
): string {
  const items = [`inet:${policy.host ?? HOST}:${policy.port}`, `timeout=${timeoutSeconds}s`];
  // A value with spaces or commas goes in its own braces: `{ name = value }`.
  if (defaultAction !== undefined) {
    items.push(
      /[\s,]/.test(defaultAction)
        ? `{ default_action = ${defaultAction} }`
        : `default_action=${defaultAction}`,
    );
  }
  return `check_policy_service { ${items.join(', ')} }`;
}

function mainCf(
  directory: string,
  options: PostfixOptions,
  listeners: readonly (readonly [string, SmtpListenerOptions])[],
): string {
  const timeout = options.policyTimeoutSeconds ?? 10;
  const recipientRestrictions =
    options.recipientRestrictions ??
    ((check: string) => ['permit_mynetworks', 'reject_unauth_destination', check]);
  const params: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: join(directory, 'queue'),
    data_directory: join(directory, 'data'),
    mail_owner: 'postfix',
    // Logging to a file: there is no syslog on test machines, and a failing test prints this file.
    maillog_file: join(directory, 'maillog'),
    maillog_file_prefixes: directory,
    myhostname: 'postfix-e2e.policyd.test',
    mydomain: 'policyd.test',
    myorigin: '$myhostname',
    inet_interfaces: HOST,
    inet_protocols: 'ipv4',
    mynetworks: (options.mynetworks ?? [`${HOST}/32`]).join(', '),
    // Nothing leaves: no local domains, test domains are relay domains, every transport is discard.
    mydestination: '',
    relay_domains: (options.domains ?? DEFAULT_DOMAINS).join(', '),
    relay_recipient_maps: '',
    relay_transport: 'discard:',
    default_transport: 'discard:',
    local_transport: 'discard:',
    virtual_transport: 'discard:',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    notify_classes: '',
    smtpd_banner: '$myhostname ESMTP Postfix',
    smtpd_peername_lookup: 'no',
    smtpd_error_sleep_time: '0',
    smtpd_authorized_xclient_hosts: '127.0.0.0/8',
    smtpd_relay_restrictions: '',
    // One policy connection per smtpd process, as in production; a short idle time keeps stops quick.
    smtpd_policy_service_max_idle: '30s',
    smtpd_policy_service_try_limit: '2',
    smtpd_policy_service_retry_delay: '1s',
  };
  for (const [name, listener] of listeners) {
    const check = policyCheck(listener.policy ?? options.policy, timeout, listener.defaultAction);
    params[`policyd_e2e_${name}_recipient_restrictions`] = recipientRestrictions(check).join(', ');
    params[`policyd_e2e_${name}_end_of_data_restrictions`] = options.endOfData === false ? '' : check;
  }
  Object.assign(params, options.mainCf);
  return `${Object.entries(params)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n')}\n`;
}

function masterCf(
  listeners: readonly (readonly [string, SmtpListenerOptions])[],
  ports: Readonly<Record<string, number>>,
): string {
  const smtpd = listeners.map(
    ([name]) =>
      `${HOST}:${ports[name]} inet n - n - - smtpd\n` +
      `  -o smtpd_recipient_restrictions=$policyd_e2e_${name}_recipient_restrictions\n` +
      `  -o smtpd_end_of_data_restrictions=$policyd_e2e_${name}_end_of_data_restrictions`,
  );
  // chroot "n" everywhere: a chroot would need copies of /etc files inside the queue directory.
  return `${[
    ...smtpd,
    'cleanup   unix n - n - 0 cleanup',
    'qmgr      unix n - n 300 1 qmgr',
    'rewrite   unix - - n - - trivial-rewrite',
    'bounce    unix - - n - 0 bounce',
    'defer     unix - - n - 0 bounce',
    'trace     unix - - n - 0 bounce',
    'verify    unix - - n - 1 verify',
    'flush     unix n - n 1000? 0 flush',
    'proxymap  unix - - n - - proxymap',
    'anvil     unix - - n - 1 anvil',
    'scache    unix - - n - 1 scache',
    'discard   unix - - n - - discard',
    'error     unix - - n - - error',
    'retry     unix - - n - - error',
    'postlog   unix-dgram n - n - 1 postlogd',
  ].join('\n')}\n`;
}

/**
 * Run `postfix -c <configDirectory> …args`. Every invocation names the private configuration directory: there
 * is never a bare `postfix start`. Postfix writes its messages to stderr only when that is a terminal (else to
 * syslog, absent here, or the maillog, which early fatal errors miss): `terminal` runs it under script(1) to
 * capture them.
 */
function postfixCommand(
  installation: PostfixInstallation,
  configDirectory: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  terminal = false,
): Promise<{ readonly ok: boolean; readonly output: string }> {
  const postfix = join(installation.commandDirectory, 'postfix');
  const argv = ['-c', configDirectory, ...args];
  const [file, fileArgs] = terminal
    ? ['script', ['-qec', [postfix, ...argv].map(shellQuote).join(' '), '/dev/null']]
    : [postfix, argv];
  return new Promise((resolve) => {
    execFile(file, fileArgs, { env, timeout: 60_000 }, (error, out, err) =>
      resolve({ ok: error === null, output: `${out}${err}`.replaceAll('\r', '') }),
    );
  });
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

async function stopProcessGroup(master: ChildProcess): Promise<void> {
  const pid = master.pid;
  if (pid === undefined) return;
  const exited =
    master.exitCode !== null || master.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => master.once('exit', () => resolve()));
  // master's SIGTERM handler signals its whole process group and exits.
  killGroup(pid, 'SIGTERM');
  await Promise.race([exited, sleep(5_000)]);
  // Whatever is left of the group (a child that ignored SIGTERM, or master itself if it hung) gets SIGKILL.
  const deadline = Date.now() + 5_000;
  while ((await liveGroupMembers(pid)).length > 0 && Date.now() < deadline) {
    killGroup(pid, 'SIGKILL');
    await sleep(100);
  }
  await Promise.race([exited, sleep(1_000)]);
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

// Processes of the group that are still running (zombies left for init to reap do not count).
async function liveGroupMembers(pgid: number): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const live: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command: state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for a policy daemon's settings, say). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

async function waitForGreeting(port: number, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      const client = await connectSmtp({ host: HOST, port, timeoutMs: 5_000 });
      const ok = client.greeting.code === 220;
      await client.quit();
      if (ok) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
