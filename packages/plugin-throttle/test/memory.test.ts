import { memoryBackend } from './harness.ts';
import { describeThrottlePlugin } from './suite.ts';

describeThrottlePlugin('memory', memoryBackend);
