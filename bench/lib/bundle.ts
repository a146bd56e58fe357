/**
 * Self-bundling of the standalone benchmarks: run as a `.ts` file, a bench script bundles itself with esbuild
 * and runs the bundle, so that the packages' own `@policyd/*` imports resolve to source like the script's.
 */

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * Where bundles go. Inside node_modules, so that the external packages (knex, drivers, pino, mailauth) resolve
 * from the bundle.
 *
 * @param file - File name inside the cache directory, e.g. `wblist.mjs`.
 * @returns Its absolute path.
 */
export function benchCachePath(file: string): string {
  return fileURLToPath(new URL(`../../node_modules/.cache/policyd-bench/${file}`, import.meta.url));
}

/**
 * The esbuild options every bench bundle shares: one ESM file for Node, packages left external, the repository's
 * tsconfig.
 *
 * @returns A fresh options object to spread into `build`.
 */
export function benchBuildOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    logLevel: 'warning',
  };
}

/**
 * Whether the module at `moduleUrl` is the script Node was started with.
 *
 * @param moduleUrl - The caller's `import.meta.url`.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}

/**
 * The standard entry of a standalone bench script. Does nothing unless the script is Node's entry point. Run
 * as `.ts`, it bundles the script into {@link benchCachePath}(`<name>.mjs`), runs the bundle with the same
 * arguments, sets the exit code from it and removes the bundle (unless `KEEP_BUNDLE` is set). Run bundled, it
 * calls `main`.
 *
 * @param moduleUrl - The script's `import.meta.url`.
 * @param name - Bundle file name without extension.
 * @param main - The script's work, run inside the bundle.
 * @param extra - esbuild options added to {@link benchBuildOptions} (e.g. `alias`).
 */
export async function runBundled(
  moduleUrl: string,
  name: string,
  main: () => Promise<void>,
  extra: BuildOptions = {},
): Promise<void> {
  if (!isEntryPoint(moduleUrl)) return;
  const self = fileURLToPath(moduleUrl);
  if (!self.endsWith('.ts')) {
    await main();
    return;
  }
  const { build } = await import('esbuild');
  const outfile = benchCachePath(`${name}.mjs`);
  try {
    await build({ ...benchBuildOptions(), ...extra, entryPoints: [self], outfile });
    const result = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exitCode = result.status ?? 1;
  } finally {
    if (process.env.KEEP_BUNDLE === undefined) rmSync(outfile, { force: true });
  }
}
