#!/usr/bin/env node
/** `greylisting_admin`: iRedAPD's `tools/greylisting_admin.py` under its old name, the same as `policyd-admin greylisting`. */

import { main } from '../cli/main.ts';

await main(['greylisting']);
