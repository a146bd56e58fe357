import type { Options } from 'tsup';

/** Shared tsup settings: ESM only, Node 22+, declarations, no bundled dependencies. */
export const tsupBase: Options = {
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
};
