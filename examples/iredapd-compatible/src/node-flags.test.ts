import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import {
  applyDaemonNodeFlags,
  DAEMON_NODE_FLAGS,
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

describe('applyDaemonNodeFlags', () => {
  const fake = (execArgv: string[], execve?: NodeProcessLike['execve']): NodeProcessLike => ({
    execPath: '/usr/bin/node',
    execArgv,
    argv: ['/usr/bin/node', '/opt/policyd/src/main.ts', '--config', '/opt/iredapd/settings.py'],
    env: { PATH: '/usr/bin' },
    execve,
  });

  it('replaces the process by node with the missing flags first, then its own flags, script and arguments', () => {
    const execve = vi.fn();
    expect(applyDaemonNodeFlags(fake(['--inspect'], execve as never))).toEqual(DAEMON_NODE_FLAGS);
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
      { PATH: '/usr/bin' },
    );
  });

  it('does nothing when the flags are there, and reports them missing when it cannot restart', () => {
    const execve = vi.fn();
    expect(applyDaemonNodeFlags(fake([...DAEMON_NODE_FLAGS], execve as never))).toEqual([]);
    expect(execve).not.toHaveBeenCalled();
    expect(applyDaemonNodeFlags(fake([]))).toEqual(DAEMON_NODE_FLAGS);
  });
});

describe('the launchers run the daemon with DAEMON_NODE_FLAGS', () => {
  it('are flags this Node.js knows (it refuses to start on an unknown one)', () => {
    const result = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('`node src/main.ts` restarts itself once, in the same process, with the flags', () => {
    // Printed by every process that loads main.ts: the plain start and the restarted one.
    const probe = `data:text/javascript,process.stderr.write('probe '+process.pid+' '+JSON.stringify(process.execArgv)+'\\n')`;
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
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: policyd-iredapd/);
    const probes = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('probe '))
      .map((line) => {
        const [, pid, argv] = /^probe (\d+) (.*)$/.exec(line) ?? [];
        return { pid: Number(pid), execArgv: JSON.parse(argv ?? '[]') as string[] };
      });
    expect(probes).toHaveLength(2);
    expect(probes[1]?.pid).toBe(probes[0]?.pid);
    expect(missingNodeFlags(probes[0]?.execArgv ?? [], undefined)).toEqual(DAEMON_NODE_FLAGS);
    expect(probes[1]?.execArgv.slice(0, DAEMON_NODE_FLAGS.length)).toEqual(DAEMON_NODE_FLAGS);
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
