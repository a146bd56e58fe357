/**
 * `policyd-admin wblist` (alias `wblist_admin`): iRedAPD's `tools/wblist_admin.py` with its flags, flags
 * anywhere and the remaining arguments as the addresses. Unlike iRedAPD, an invalid address is an error
 * naming it (iRedAPD dropped it silently) and nothing is written.
 */

import { type AccountType, parseAccount, type WblistDirection, type WblistList } from '@policyd/core';
import {
  createWblistAdmin,
  WBLIST_ACCOUNT_TYPES,
  WBLIST_RECIPIENT_TYPES,
  WBLIST_SENDER_TYPES,
} from '@policyd/plugin-wblist';
import type { Command } from 'commander';
import { addDatabaseOptions, type CommandEnv, firstFlag, flagName } from './command-env.ts';
import { withDatabase } from './context.ts';
import { CliError, line } from './io.ts';

/** The flags of `wblist`, as commander names them. */
interface WblistFlags {
  readonly outbound?: boolean;
  readonly account?: string;
  readonly add?: boolean;
  readonly delete?: boolean;
  readonly deleteAll?: boolean;
  readonly list?: boolean;
  readonly whitelist?: boolean;
  readonly blacklist?: boolean;
  readonly config?: string;
  readonly dataDir?: string;
}

type Action = 'add' | 'delete' | 'deleteAll' | 'list';

const ACTIONS: readonly Action[] = ['add', 'delete', 'deleteAll', 'list'];
const LISTS: readonly WblistList[] = ['whitelist', 'blacklist'];

const ACCOUNT_FORMS = 'user@domain.com, @domain.com, @.domain.com, @.tld or @. (anyone)';
const SENDER_FORMS =
  'user@domain.com, user@*, @domain.com, @.domain.com, @.tld, @., an IP address, ' +
  'a wildcard IPv4 address (192.0.2.*) or a network (192.0.2.0/24)';

const EXAMPLES = `
Senders (inbound) or recipients (--outbound) are the arguments left after the flags; flags may come anywhere.
With both --whitelist and --blacklist, --whitelist is used; the action is the first of --add, --delete,
--delete-all, --list given (as in iRedAPD's wblist_admin.py).

Examples:
  Server-wide lists:
    policyd-admin wblist --add --whitelist 192.168.1.10 user@example.com
    policyd-admin wblist --add --blacklist 172.16.1.10 baduser@example.com
    policyd-admin wblist --list --whitelist
    policyd-admin wblist --list --blacklist
  Per-user or per-domain lists:
    policyd-admin wblist --account user@mydomain.com --add --whitelist 192.168.1.10 user@example.com
    policyd-admin wblist --account @mydomain.com --delete --blacklist baduser@example.com
    policyd-admin wblist --account user@mydomain.com --delete-all --blacklist
  Outbound lists (recipients an authenticated local sender may, or may not, mail):
    policyd-admin wblist --outbound --account user@mydomain.com --add --blacklist @competitor.example
`;

function pick(values: readonly string[], allowed?: readonly AccountType[]): { ok: string[]; bad: string[] } {
  const ok: string[] = [];
  const bad: string[] = [];
  for (const value of values) {
    try {
      ok.push(parseAccount(value, allowed).account);
    } catch {
      bad.push(value);
    }
  }
  return { ok, bad };
}

async function run(addresses: readonly string[], flags: WblistFlags, env: CommandEnv): Promise<void> {
  const { io } = env;
  const accountText = flags.account ?? '@.';
  let account: string;
  try {
    account = parseAccount(accountText, WBLIST_ACCOUNT_TYPES).account;
  } catch {
    throw new CliError(`Invalid account format: ${JSON.stringify(accountText)} (expected ${ACCOUNT_FORMS}).`);
  }
  const list = firstFlag(io, flags, LISTS, flagName);
  if (list === undefined) throw new CliError('No --whitelist or --blacklist specified. Exit.');
  const action = firstFlag(io, flags, ACTIONS, flagName);
  if (action === undefined) throw new CliError('No --add, --delete or --list specified. Exit.');
  const direction: WblistDirection = flags.outbound === true ? 'outbound' : 'inbound';
  const what = direction === 'inbound' ? 'sender' : 'recipient';

  let values: string[] = [];
  if (action === 'add' || action === 'delete') {
    // --add takes the forms the plugin can match; --delete any stored form, so odd rows can be removed.
    const allowed =
      action === 'delete'
        ? undefined
        : direction === 'inbound'
          ? WBLIST_SENDER_TYPES
          : WBLIST_RECIPIENT_TYPES;
    const { ok, bad } = pick(addresses, allowed);
    if (bad.length > 0) {
      const forms = direction === 'inbound' || action === 'delete' ? SENDER_FORMS : ACCOUNT_FORMS;
      throw new CliError(
        `Invalid ${what}${bad.length === 1 ? '' : 's'}: ${bad.map((v) => JSON.stringify(v)).join(', ')} ` +
          `(expected ${forms}). Nothing was changed.`,
      );
    }
    if (ok.length === 0) throw new CliError(`No ${what} specified. Exit.`);
    values = [...new Set(ok)];
  } else if (addresses.length > 0) {
    line(io.stderr, `* Note: ${flagName(action)} takes no addresses; ignoring ${addresses.join(' ')}.`);
  }

  const header = {
    add: 'Add',
    delete: 'Delete',
    deleteAll: 'Delete all',
    list: 'List all',
  }[action];
  await withDatabase(io, flags, ['amavisd'], async ({ storage }) => {
    const admin = createWblistAdmin(storage.wblist);
    line(io.stdout, `* ${header} ${direction} ${list} for account: ${account}`);
    const target = { account, direction, list };
    if (action === 'add') {
      line(io.stdout, `* Add ${what}s: ${values.join(', ')}`);
      const result = await admin.add({ ...target, addresses: values });
      for (const value of result.changed) line(io.stdout, `- Added: ${value}`);
      for (const value of result.unchanged) line(io.stdout, `- Already listed: ${value}`);
    } else if (action === 'delete') {
      const result = await admin.delete({ ...target, addresses: values });
      for (const value of result.changed) line(io.stdout, `- Deleted: ${value}`);
      for (const value of result.unchanged) line(io.stdout, `- Not listed: ${value}`);
    } else if (action === 'deleteAll') {
      const { deleted } = await admin.deleteAll(target);
      line(io.stdout, `- Deleted ${deleted} ${deleted === 1 ? 'entry' : 'entries'}.`);
    } else {
      const { entries } = await admin.list(target);
      const sorted = entries.map((e) => e.address).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (sorted.length === 0) line(io.stdout, '* No whitelist/blacklist.');
      for (const address of sorted) line(io.stdout, address);
    }
  });
}

/**
 * Register `wblist` (alias `wblist_admin`) on the program.
 *
 * @example
 * ```ts
 * registerWblistCommand(program, env);
 * await program.parseAsync(['wblist', '--add', '--blacklist', '192.0.2.66'], { from: 'user' });
 * ```
 */
export function registerWblistCommand(program: Command, env: CommandEnv): Command {
  const command = program
    .command('wblist')
    .alias('wblist_admin')
    .summary("white/blacklists (iRedAPD's wblist_admin.py)")
    .description(
      "Manage amavisd white/blacklists as iRedAPD's wblist_admin.py does: inbound lists of senders per local " +
        'account, or outbound lists of recipients (--outbound).',
    )
    .argument('[addresses...]', 'senders (inbound) or recipients (--outbound)')
    .optionsGroup('Options:')
    .option('--outbound', 'manage the outbound lists (default: inbound)')
    .option('--account <account>', `the local account: ${ACCOUNT_FORMS}; default @.`)
    .option('--add', 'add the addresses to the list')
    .option('--delete', 'delete the addresses from the list')
    .option('--delete-all', "delete every entry of the account's list")
    .option('--list', "show the account's list")
    .option('--whitelist', 'the whitelist')
    .option('--blacklist', 'the blacklist');
  addDatabaseOptions(command)
    .addHelpText('after', EXAMPLES)
    .action(async (addresses: string[], flags: WblistFlags, self: Command) => {
      if (addresses.length === 0 && Object.keys(flags).length === 0) {
        // iRedAPD's tool prints its usage when run without arguments.
        self.outputHelp();
        return;
      }
      await run(addresses, flags, env);
    });
  return command;
}
