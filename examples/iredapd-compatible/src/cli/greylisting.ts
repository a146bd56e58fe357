/**
 * `policyd-admin greylisting` (alias `greylisting_admin`): iRedAPD's `tools/greylisting_admin.py` with its
 * flags. Values are lower-cased and canonicalised (iRedAPD stored them as typed, bug B35), every value is
 * checked before the database is opened, and `--remove-whitelist-domain` also removes the domain's generated
 * whitelist entries (iRedAPD left them, bug B23).
 */

import {
  GREYLIST_ACCOUNT_TYPES,
  GREYLIST_SENDER_TYPES,
  parseAccount,
  parseWhitelistDomain,
} from '@policyd/core';
import { createGreylistingAdmin } from '@policyd/plugin-greylisting';
import type { Command } from 'commander';
import { addDatabaseOptions, type CommandEnv, firstFlag, flagName, pad } from './command-env.ts';
import { withDatabase } from './context.ts';
import { CliError, line } from './io.ts';

/** The flags of `greylisting`, as commander names them. */
interface GreylistingFlags {
  readonly from?: string;
  readonly to?: string;
  readonly comment?: string;
  readonly enable?: boolean;
  readonly disable?: boolean;
  readonly delete?: boolean;
  readonly list?: boolean;
  readonly whitelistDomain?: boolean;
  readonly removeWhitelistDomain?: boolean;
  readonly listWhitelistDomains?: boolean;
  readonly listWhitelists?: boolean;
  readonly addWhitelist?: boolean;
  readonly removeWhitelist?: boolean;
  readonly config?: string;
  readonly dataDir?: string;
}

type Operation =
  | 'enable'
  | 'disable'
  | 'delete'
  | 'list'
  | 'whitelistDomain'
  | 'removeWhitelistDomain'
  | 'listWhitelistDomains'
  | 'listWhitelists'
  | 'addWhitelist'
  | 'removeWhitelist';

/** iRedAPD's order (the first present wins), then policyd's `--remove-whitelist`. */
const OPERATIONS: readonly Operation[] = [
  'enable',
  'disable',
  'delete',
  'list',
  'whitelistDomain',
  'removeWhitelistDomain',
  'listWhitelistDomains',
  'listWhitelists',
  'addWhitelist',
  'removeWhitelist',
];

const ANYONE = '@.';
const LIST_ROW = (status: string, sender: string, account: string): string =>
  `${pad(status, 8)} ${pad(sender, 34)} -> ${account}`;

const EXAMPLES = `
Valid forms: --to user@domain.com, @domain.com, @.domain.com (with subdomains), @.tld or @. (anyone);
--from the same, or an IP address, a wildcard IPv4 address (192.0.2.*) or a network (192.0.2.0/24).
The operation is the first of the operation flags given, in the order listed (as in iRedAPD).

Examples:
  policyd-admin greylisting --list
  policyd-admin greylisting --enable --to @example.com
  policyd-admin greylisting --disable --to user@example.com
  policyd-admin greylisting --disable --from @gmail.com --to user@example.com
  policyd-admin greylisting --delete --to @test.com
  policyd-admin greylisting --add-whitelist --from 192.0.2.0/24
  policyd-admin greylisting --list-whitelists
  policyd-admin greylisting --whitelist-domain --from @example.com     (then: policyd-admin spf-whitelists)
  policyd-admin greylisting --remove-whitelist-domain --from @example.com
  policyd-admin greylisting --list-whitelist-domains
`;

function sender(value: string): string {
  try {
    return parseAccount(value, GREYLIST_SENDER_TYPES).account;
  } catch {
    throw new CliError(`Invalid sender address: ${JSON.stringify(value)}.`);
  }
}

function recipient(value: string): string {
  try {
    return parseAccount(value, GREYLIST_ACCOUNT_TYPES).account;
  } catch {
    throw new CliError(`Invalid recipient address: ${JSON.stringify(value)}.`);
  }
}

/** `--from @example.com` (or `@.example.com`, or `example.com`) of the whitelist-domain operations. */
function senderDomain(value: string | undefined, operation: Operation): string {
  if (value === undefined) {
    throw new CliError(`${flagName(operation)} needs the sender domain: --from @example.com`);
  }
  try {
    return parseWhitelistDomain(value.trim().replace(/^@\.?/, ''));
  } catch {
    throw new CliError(
      `Invalid sender domain: ${JSON.stringify(value)} (expected @example.com, @.example.com or example.com).`,
    );
  }
}

function shown(value: string): string {
  return value === ANYONE ? '@. (anyone)' : value;
}

async function run(flags: GreylistingFlags, env: CommandEnv): Promise<void> {
  const { io } = env;
  const operation = firstFlag(io, flags, OPERATIONS, flagName);
  if (operation === undefined) throw new CliError('No valid operation specified. Exit.');
  const domainOperation = operation === 'whitelistDomain' || operation === 'removeWhitelistDomain';
  // Everything is checked before the database is opened.
  const domain = domainOperation ? senderDomain(flags.from, operation) : '';
  const from = domainOperation ? ANYONE : sender(flags.from ?? ANYONE);
  const to = recipient(flags.to ?? ANYONE);
  const comment = flags.comment === undefined ? {} : { comment: flags.comment };

  await withDatabase(io, flags, ['iredapd'], async ({ storage }) => {
    const admin = createGreylistingAdmin({ store: storage.greylist });
    switch (operation) {
      case 'enable':
      case 'disable': {
        const verb = operation === 'enable' ? 'Enable' : 'Disable';
        line(io.stdout, `* ${verb} greylisting: ${from} -> ${to}`);
        await admin[operation]({ from, to, ...comment });
        return;
      }
      case 'delete': {
        line(io.stdout, `* Delete greylisting setting: ${from} -> ${to}`);
        if (!(await admin.delete({ from, to }))) line(io.stdout, '* No such greylisting setting.');
        return;
      }
      case 'list': {
        const settings = await admin.listSettings(to === ANYONE ? {} : { account: to });
        if (settings.length === 0) {
          line(io.stdout, '* No greylisting settings.');
          return;
        }
        line(io.stdout, LIST_ROW('Status', 'Sender', 'Local Account'));
        line(io.stdout, '-'.repeat(78));
        for (const s of settings) {
          line(io.stdout, LIST_ROW(s.active ? 'enabled' : 'disabled', shown(s.sender), shown(s.account)));
        }
        return;
      }
      case 'whitelistDomain': {
        line(io.stdout, `* Whitelisting sender domain: ${domain}`);
        if (!(await admin.addWhitelistDomain(domain))) {
          line(io.stdout, `* ${domain} is already a whitelisted sender domain.`);
        }
        line(
          io.stdout,
          `* Its IP addresses are whitelisted by the next spf_to_greylist_whitelists run ` +
            `(now: policyd-admin spf-whitelists ${domain}).`,
        );
        return;
      }
      case 'removeWhitelistDomain': {
        line(io.stdout, `* Remove whitelisted sender domain: ${domain}`);
        const { removed, networksRemoved } = await admin.removeWhitelistDomain(domain);
        if (!removed) line(io.stdout, `* ${domain} was not a whitelisted sender domain.`);
        if (networksRemoved > 0) {
          const what = networksRemoved === 1 ? 'IP address/network' : 'IP addresses/networks';
          line(io.stdout, `* Removed ${networksRemoved} whitelisted ${what} of ${domain}.`);
        }
        return;
      }
      case 'listWhitelistDomains': {
        for (const d of await admin.listWhitelistDomains()) line(io.stdout, d);
        return;
      }
      case 'listWhitelists': {
        // iRedAPD: with the default --to @. every row of both tables; otherwise that account's manual rows.
        const rows = await admin.listWhitelists(to === ANYONE ? {} : { account: to, source: 'manual' });
        for (const r of rows) line(io.stdout, `${r.sender} -> ${r.account}, '${r.comment}'`);
        return;
      }
      case 'addWhitelist': {
        line(io.stdout, `* Whitelist sender: ${from} -> ${to}`);
        if (!(await admin.addWhitelist({ from, to, ...comment }))) line(io.stdout, '* Already whitelisted.');
        return;
      }
      case 'removeWhitelist': {
        line(io.stdout, `* Remove whitelisted sender: ${from} -> ${to}`);
        if (!(await admin.removeWhitelist({ from, to }))) line(io.stdout, '* No such whitelist entry.');
        return;
      }
    }
  });
}

/**
 * Register `greylisting` (alias `greylisting_admin`) on the program.
 *
 * @example
 * ```ts
 * registerGreylistingCommand(program, env);
 * await program.parseAsync(['greylisting', '--enable', '--to', '@example.com'], { from: 'user' });
 * ```
 */
export function registerGreylistingCommand(program: Command, env: CommandEnv): Command {
  const command = program
    .command('greylisting')
    .alias('greylisting_admin')
    .summary("greylisting settings and whitelists (iRedAPD's greylisting_admin.py)")
    .description(
      "Manage greylisting as iRedAPD's greylisting_admin.py does: settings that enable or disable greylisting " +
        'for mail from --from to --to, whitelisted senders, and whitelisted sender domains.',
    )
    .optionsGroup('Operations (the first given is done):')
    .option('--enable', 'enable greylisting for mail from --from to --to')
    .option('--disable', 'disable greylisting for mail from --from to --to')
    .option('--delete', 'delete the setting of --from and --to')
    .option('--list', 'show the settings (of --to only, when given)')
    .option('--whitelist-domain', 'whitelist the SPF/MX hosts of the sender domain --from @domain')
    .option('--remove-whitelist-domain', 'remove a whitelisted sender domain and its whitelisted hosts')
    .option('--list-whitelist-domains', 'show the whitelisted sender domains')
    .option('--list-whitelists', 'show the whitelisted senders (of --to only, when given)')
    .option('--add-whitelist', 'whitelist sender --from for local account --to')
    .option('--remove-whitelist', 'remove the whitelist entry of --from and --to (policyd)')
    .optionsGroup('Options:')
    .option('--from <sender>', 'sender address, domain, IP or network; default @. (anyone)')
    .option('--to <account>', 'local account; default @. (anyone)')
    .option('--comment <text>', 'comment stored with --enable, --disable or --add-whitelist (policyd)');
  addDatabaseOptions(command)
    .addHelpText('after', EXAMPLES)
    .action(async (flags: GreylistingFlags, self: Command) => {
      if (Object.keys(flags).length === 0) {
        self.outputHelp();
        return;
      }
      await run(flags, env);
    });
  return command;
}
