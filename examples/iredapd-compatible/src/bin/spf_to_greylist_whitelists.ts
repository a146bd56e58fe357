#!/usr/bin/env node
/** `spf_to_greylist_whitelists`: iRedAPD's `tools/spf_to_greylist_whitelists.py` under its old name, the same as `policyd-admin spf-whitelists`. */

import { main } from '../cli/main.ts';

await main(['spf-whitelists']);
