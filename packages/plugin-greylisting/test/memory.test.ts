/**
 * The backend-independent greylisting suites on the memory stores.
 */

import { memoryStores } from './harness.ts';
import { describeGreylistingPlugin } from './plugin-suite.ts';
import { describeGreylistingAdmin } from './refresh-suite.ts';
import { describeWriteBehind } from './write-behind-suite.ts';

describeGreylistingPlugin('memory', memoryStores);
describeGreylistingAdmin('memory', memoryStores);
describeWriteBehind('memory', memoryStores);
