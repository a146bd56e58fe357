import { defineConfig } from 'tsup';
import { tsupBase } from '../../tsup.base.ts';

// Three entry points share code (PolicydError, the codec …); splitting keeps one copy of each module so
// `instanceof PolicydError` holds across `@policyd/core`, `/testing` and `/conformance`.
export default defineConfig({
  ...tsupBase,
  entry: ['src/index.ts', 'src/testing.ts', 'src/conformance.ts'],
  splitting: true,
});
