#!/usr/bin/env node
/** `policyd-admin`: every admin command. */

import { main } from '../cli/main.ts';

await main([]);
