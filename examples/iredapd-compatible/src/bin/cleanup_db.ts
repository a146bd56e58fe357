#!/usr/bin/env node
/** `cleanup_db`: iRedAPD's `tools/cleanup_db.py` under its old name, the same as `policyd-admin cleanup`. */

import { main } from '../cli/main.ts';

await main(['cleanup']);
