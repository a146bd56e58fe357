import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import {
  applyDaemonNodeFlags,
  DAEMON_ENVIRONMENT,
  DAEMON_NODE_FLAGS,
  missingEnvironment,
  missingNodeFlags,
  type NodeProcessLike,
} from './node-flags.ts';

const example = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

describe('missingNodeFlags', () => {
  it('lists every flag for a plain `node main.ts`, none once they are given', () => {
    expect(missingNodeFlags([], undefined)).toEqual(DAEMON_NODE_FLAGS);
    expect(missingNodeFlags(['--inspect', ...DAEMON_NODE_FLAGS], undefined)).toEqual([]);
  });

  it("keeps the admin's own value of a flag, given on the command line or in NODE_OPTIONS", () => {
    const wanted = ['--max-semi-space-size=2', '--single-threaded-gc'];
    expect(missingNodeFlags(['--max_semi_space_size=16'], undefined, wanted)).toEqual([
      '--single-threaded-gc',
    ]);
    expect(missingNodeFlags(['--no-single-threaded-gc'], '--max-semi-space-size=8', wanted)).toEqual([]);
    expect(missingNodeFlags([], '  --max-old-space-size=512 ', wanted)).toEqual(wanted);
  });
});

describe('missingEnvironment', () => {
  it("lists glibc's MALLOC_ARENA_MAX when unset, nothing when the environment sets it (to any value)", () => {
    expect(DAEMON_ENVIRONMENT).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(missingEnvironment({ PATH: '/usr/bin' })).toEqual(['MALLOC_ARENA_MAX=2']);
    expect(missingEnvironment({ MALLOC_ARENA_MAX: '8' })).toEqual([]);
  });
});

describe('applyDaemonNodeFlags', () => {
  const fake = (
    execArgv: string[],
    execve?: NodeProcessLike['execve'],
    env: NodeJS.ProcessEnv = { PATH: '/usr/bin' },
  ): NodeProcessLike => ({
    execPath: '/usr/bin/node',
    execArgv,
    argv: ['/usr/bin/node', '/opt/policyd/src/main.ts', '--config', '/opt/iredapd/settings.py'],
    env,
    execve,
  });
  const complete = { PATH: '/usr/bin', ...DAEMON_ENVIRONMENT };

  it('replaces the process by node with the missing flags first, then its own flags, script and arguments', () => {
    const execve = vi.fn();
    expect(applyDaemonNodeFlags(fake(['--inspect'], execve as never))).toEqual([
      ...DAEMON_NODE_FLAGS,
      'MALLOC_ARENA_MAX=2',
    ]);
    expect(execve).toHaveBeenCalledWith(
      '/usr/bin/node',
      [
        '/usr/bin/node',
        ...DAEMON_NODE_FLAGS,
        '--inspect',
        '/opt/policyd/src/main.ts',
        '--config',
        '/opt/iredapd/settings.py',
      ],
      complete,
    );
  });

  it('restarts for the environment alone, keeping the flags and an admin-set value', () => {
    const execve = vi.fn();
    expect(applyDaemonNodeFlags(fake([...DAEMON_NODE_FLAGS], execve as never))).toEqual([
      'MALLOC_ARENA_MAX=2',
    ]);
    expect(execve).toHaveBeenCalledWith(
      '/usr/bin/node',
      [
        '/usr/bin/node',
        ...DAEMON_NODE_FLAGS,
        '/opt/policyd/src/main.ts',
        '--config',
        '/opt/iredapd/settings.py',
      ],
      complete,
    );
    execve.mockClear();
    const own = { PATH: '/usr/bin', MALLOC_ARENA_MAX: '4' };
    expect(applyDaemonNodeFlags(fake(['--inspect'], execve as never, own))).toEqual(DAEMON_NODE_FLAGS);
    expect(execve.mock.calls[0]?.[2]).toEqual(own);
  });

  it('does nothing when the flags and environment are there, and reports them missing when it cannot restart', () => {
    const execve = vi.fn();
    expect(applyDaemonNodeFlags(fake([...DAEMON_NODE_FLAGS], execve as never, complete))).toEqual([]);
    expect(execve).not.toHaveBeenCalled();
    expect(applyDaemonNodeFlags(fake([]))).toEqual([...DAEMON_NODE_FLAGS, 'MALLOC_ARENA_MAX=2']);
  });
});

describe('the launchers run the daemon with DAEMON_NODE_FLAGS', () => {
  it('are flags this Node.js knows (it refuses to start on an unknown one)', () => {
    const result = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('`node src/main.ts` restarts itself once, in the same process, with the flags and environment', () => {
    // Printed by every process that loads main.ts: the plain start and the restarted one.
    const probe = `data:text/javascript,process.stderr.write('probe '+process.pid+' '+JSON.stringify([process.execArgv,process.env.MALLOC_ARENA_MAX??null])+'\\n')`;
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        example('test/support/source-hooks.ts'),
        '--import',
        probe,
        example('src/main.ts'),
        '--help',
      ],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MALLOC_ARENA_MAX: undefined } },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: policyd-iredapd/);
    const probes = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('probe '))
      .map((line) => {
        const [, pid, json] = /^probe (\d+) (.*)$/.exec(line) ?? [];
        const [execArgv, arenas] = JSON.parse(json ?? '[[],null]') as [string[], string | null];
        return { pid: Number(pid), execArgv, arenas };
      });
    expect(probes).toHaveLength(2);
    expect(probes[1]?.pid).toBe(probes[0]?.pid);
    expect(missingNodeFlags(probes[0]?.execArgv ?? [], undefined)).toEqual(DAEMON_NODE_FLAGS);
    expect(probes[1]?.execArgv.slice(0, DAEMON_NODE_FLAGS.length)).toEqual(DAEMON_NODE_FLAGS);
    expect(probes.map((p) => p.arenas)).toEqual([null, '2']);
  });

  it('the bin, `npm start` and the systemd unit all start src/main.ts, which applies the flags', () => {
    const pkg = JSON.parse(readFileSync(example('package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.bin['policyd-iredapd']).toBe('src/main.ts');
    expect(pkg.scripts.start).toBe('node src/main.ts');
    const root = JSON.parse(readFileSync(example('../../package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(root.scripts.start).toMatch(/npm start --workspace examples\/iredapd-compatible$/);
    const unit = readFileSync(example('policyd-iredapd.service'), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    expect(execStart).toMatch(/^\/usr\/bin\/node \S*\/examples\/iredapd-compatible\/src\/main\.ts /);
    expect(readFileSync(example('src/main.ts'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });
});
