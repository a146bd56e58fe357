/**
 * The shared suites on the memory stores of `@policyd/core`.
 */

import { describeWblistAdmin } from './admin-suite.ts';
import { describeWblistDecisions } from './decision-suite.ts';
import { memoryBackend } from './harness.ts';

describeWblistDecisions('memory', memoryBackend);
describeWblistAdmin('memory', memoryBackend);
