#!/usr/bin/env node
/** `wblist_admin`: iRedAPD's `tools/wblist_admin.py` under its old name, the same as `policyd-admin wblist`. */

import { main } from '../cli/main.ts';

await main(['wblist']);
