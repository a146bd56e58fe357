import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLog, type TempDir, tempDir } from '../test/support/daemon-harness.ts';
import { createDaemonLog } from './daemon-log.ts';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.remove();
});

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('createDaemonLog', () => {
  it('writes JSON lines to a file, creating its directory, and reopens it after a rotation', async () => {
    const file = join(dir.path, 'log', 'iredapd.log');
    const log = createDaemonLog({ level: 'info', file });
    expect(log.target).toBe(file);
    log.logger.info('first');
    log.logger.debug('hidden');
    await settle();
    log.flush();
    await rename(file, `${file}.1`);
    log.reopen();
    await settle();
    log.logger.info('second');
    await settle();
    log.flush();
    const rotated = (await readFile(`${file}.1`, 'utf8')).trim().split('\n');
    const current = (await readFile(file, 'utf8')).trim().split('\n');
    expect(rotated.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['first']);
    expect(current.map((l) => (JSON.parse(l) as { msg: string; name: string }).msg)).toEqual(['second']);
    expect(JSON.parse(current[0] ?? '{}')).toMatchObject({ level: 30, name: 'policyd-iredapd' });
  });

  it('changes its level at run time', async () => {
    const capture = captureLog();
    const log = createDaemonLog({ level: 'warn', destination: capture });
    log.logger.info('dropped');
    log.setLevel('debug');
    log.logger.debug('kept');
    log.reopen();
    log.flush();
    expect(capture.messages()).toEqual(['kept']);
    expect(log.target).toBe('custom');
  });

  it('writes to stdout by default', () => {
    expect(createDaemonLog({ level: 'info' }).target).toBe('stdout');
  });
});
