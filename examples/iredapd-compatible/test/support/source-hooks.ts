/**
 * Run the daemon from source without building the packages: `node --import ./test/support/source-hooks.ts
 * src/main.ts …` resolves `@policyd/<package>` (and `/testing`, `/conformance`) to `packages/<package>/src/*.ts`
 * instead of `dist/`, as vitest's aliases do. For tests and development only.
 */

import { registerHooks } from 'node:module';

const ROOT = new URL('../../../../', import.meta.url);
const ENTRY =
  /^@policyd\/(core|storage-knex|plugin-wblist|plugin-greylisting|plugin-throttle)(\/testing|\/conformance)?$/;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const match = ENTRY.exec(specifier);
    if (match === null) return nextResolve(specifier, context);
    const file = match[2] === undefined ? 'index.ts' : `${match[2].slice(1)}.ts`;
    return { url: new URL(`packages/${match[1]}/src/${file}`, ROOT).href, shortCircuit: true };
  },
});
