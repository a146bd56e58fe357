/**
 * The whole throttle plugin suite for one storage backend: decisions, time, flow, admin.
 */

import { describe } from 'vitest';
import type { ThrottleBackendFactory } from './harness.ts';
import { describeAdmin } from './suite-admin.ts';
import { describeFlow } from './suite-flow.ts';
import { describeLimits } from './suite-limits.ts';
import { describeWindows } from './suite-windows.ts';

/** Register every plugin and admin test against stores made by `factory`. */
export function describeThrottlePlugin(name: string, factory: ThrottleBackendFactory): void {
  describe(`throttle plugin: ${name}`, () => {
    describeLimits(factory);
    describeWindows(factory);
    describeFlow(factory);
    describeAdmin(factory);
  });
}
