import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, file = 'index.ts') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

// Tests run against source: @policyd/* resolve to packages/*/src, no build needed.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@policyd\/core\/testing$/, replacement: src('core', 'testing.ts') },
      { find: /^@policyd\/core\/conformance$/, replacement: src('core', 'conformance.ts') },
      { find: /^@policyd\/core$/, replacement: src('core') },
      {
        find: /^@policyd\/(storage-knex|plugin-wblist|plugin-greylisting|plugin-throttle)$/,
        replacement: src('$1'),
      },
    ],
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    typecheck: { enabled: true, include: ['packages/*/src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
