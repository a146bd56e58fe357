/**
 * `policyd-admin spf-whitelists` (alias `spf_to_greylist_whitelists`): iRedAPD's
 * `tools/spf_to_greylist_whitelists.py`, the cron job that turns the SPF records (or MX hosts) of the
 * whitelisted sender domains into whitelisted IP addresses and networks.
 *
 * Made for cron: on a terminal it shows progress and a total; otherwise it prints only what changed and what
 * failed, so a cron job mails only when there is news. The exit status is 3 when some domains could not be
 * resolved (their old entries are kept), 0 otherwise.
 */

import { Resolver } from 'node:dns/promises';
import { type DnsResolver, parseWhitelistDomain } from '@policyd/core';
import {
  createGreylistingAdmin,
  DEFAULT_WHITELIST_DOMAINS,
  type DomainRefresh,
  type RefreshSummary,
} from '@policyd/plugin-greylisting';
import type { Command } from 'commander';
import { addDatabaseOptions, type CommandEnv } from './command-env.ts';
import { loadCliSettings, withDatabase } from './context.ts';
import { CliError, type CliIo, EXIT, errorLine, line } from './io.ts';
import { createProgress } from './progress.ts';

/** The flags of `spf-whitelists`, as commander names them. */
interface SpfWhitelistsFlags {
  readonly submit?: boolean;
  readonly seedDefaults?: boolean;
  readonly verbose?: boolean;
  readonly debug?: boolean;
  readonly config?: string;
  readonly dataDir?: string;
}

/** Domains refreshed per call: the progress line moves after each group. */
const GROUP_SIZE = 8;
/** Domains expanded at the same time within a group. */
const CONCURRENCY = 4;

const EXAMPLES = `
Without domain names it refreshes every domain of greylisting_whitelist_domains. On a terminal it shows
progress and a total; otherwise (cron) it prints only what changed and what failed.
Exit status: 0 done, 1 invalid arguments or settings, 2 database failure, 3 some domains could not be
resolved (their entries were kept, the others were refreshed).

Examples:
  policyd-admin spf-whitelists                          refresh every whitelisted sender domain
  policyd-admin spf-whitelists google.com aol.com       refresh these two
  policyd-admin spf-whitelists --submit example.com     add example.com to the list and refresh it
  policyd-admin spf-whitelists --seed-defaults          add the shipped list of big senders, refresh all

Cron (iRedMail runs iRedAPD's tool every 10 minutes to hourly):
  2 * * * * /usr/local/bin/spf_to_greylist_whitelists --config /opt/iredapd/settings.py
`;

const SUM_KEYS = ['added', 'removed', 'unchanged', 'failed', 'trackingDeleted'] as const;

function merge(parts: readonly RefreshSummary[]): RefreshSummary {
  const total = (key: (typeof SUM_KEYS)[number]): number => parts.reduce((n, p) => n + p[key], 0);
  return {
    domains: parts.flatMap((p) => p.domains),
    submitted: parts.flatMap((p) => p.submitted),
    added: total('added'),
    removed: total('removed'),
    unchanged: total('unchanged'),
    failed: total('failed'),
    trackingDeleted: total('trackingDeleted'),
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function report(io: CliIo, r: DomainRefresh, verbose: boolean): void {
  if (r.status === 'failed') {
    line(
      io.stderr,
      `* ${r.domain}: FAILED, kept ${plural(r.unchanged.length, 'entry', 'entries')}: ${r.failure}`,
    );
  } else if (r.status === 'updated') {
    line(io.stdout, `* ${r.domain}: ${r.added.length} added, ${r.removed.length} removed (${r.source})`);
    for (const value of r.added) line(io.stdout, `    + ${value}`);
    for (const value of r.removed) line(io.stdout, `    - ${value}`);
  } else if (verbose) {
    line(
      io.stdout,
      `* ${r.domain}: unchanged, ${plural(r.unchanged.length, 'entry', 'entries')} (${r.source})`,
    );
  }
  if (!verbose) return;
  for (const s of r.shared) line(io.stdout, `    = ${s.value} (already whitelisted for ${s.owner})`);
  for (const note of r.notes) line(io.stdout, `    ${note}`);
}

function checkDomains(domains: readonly string[]): string[] {
  const ok: string[] = [];
  const bad: string[] = [];
  for (const domain of domains) {
    try {
      ok.push(parseWhitelistDomain(domain));
    } catch {
      bad.push(domain);
    }
  }
  if (bad.length > 0) {
    throw new CliError(
      `Invalid domain ${bad.length === 1 ? 'name' : 'names'}: ${bad.map((d) => JSON.stringify(d)).join(', ')} ` +
        '(expected names such as example.com). Nothing was changed.',
    );
  }
  return [...new Set(ok)];
}

async function run(domainArgs: readonly string[], flags: SpfWhitelistsFlags, env: CommandEnv): Promise<void> {
  const { io } = env;
  if (flags.submit === true && domainArgs.length === 0) {
    throw new CliError('--submit needs the domain names to add: --submit example.com [domain ...]');
  }
  if (flags.seedDefaults === true && domainArgs.length > 0) {
    throw new CliError('--seed-defaults refreshes every whitelist domain: give no domain names with it.');
  }
  const given = checkDomains(domainArgs);
  const settings = await loadCliSettings(flags);
  const verbose = flags.verbose === true || flags.debug === true;
  const chatty = verbose || io.stdout.isTTY === true;
  const { timeoutMs } = settings.config.dns;
  const dns: DnsResolver = io.resolver ?? new Resolver({ timeout: timeoutMs, tries: 2 });

  await withDatabase(
    io,
    flags,
    ['iredapd'],
    async ({ storage }) => {
      const admin = createGreylistingAdmin({ store: storage.greylist, dns });
      if (flags.seedDefaults === true) {
        const added = await admin.seedDefaultWhitelistDomains();
        line(
          io.stdout,
          `* Added ${plural(added.length, 'default whitelist domain', 'default whitelist domains')}` +
            ` (${DEFAULT_WHITELIST_DOMAINS.length - added.length} already listed).`,
        );
      }
      const domains = given.length > 0 ? given : [...(await admin.listWhitelistDomains())];
      if (domains.length === 0) {
        if (chatty) {
          line(io.stdout, '* No whitelist domains. Add some with --submit <domain> or --seed-defaults.');
        }
        return;
      }
      if (chatty) line(io.stdout, `* ${plural(domains.length, 'mail domain', 'mail domains')} in total.`);

      const progress = createProgress(io.stdout);
      const parts: RefreshSummary[] = [];
      try {
        // In groups, in order: a value found for two domains stays with the first, as in one call.
        for (let start = 0; start < domains.length; start += GROUP_SIZE) {
          progress.update(`  Refreshing whitelist domains: ${start}/${domains.length}`);
          parts.push(
            await admin.refresh({
              domains: domains.slice(start, start + GROUP_SIZE),
              submit: flags.submit === true,
              timeoutMs,
              maxLookups: settings.config.greylisting.spfMaxLookups,
              concurrency: CONCURRENCY,
            }),
          );
        }
      } finally {
        progress.clear();
      }

      const summary = merge(parts);
      for (const domain of summary.submitted) line(io.stdout, `* Added whitelist domain: ${domain}`);
      for (const r of summary.domains) report(io, r, verbose);
      const changed = summary.added + summary.removed + summary.submitted.length > 0;
      if (chatty || changed || summary.failed > 0) {
        line(
          io.stdout,
          `* Total: ${plural(summary.domains.length, 'domain', 'domains')}, ${summary.added} added, ` +
            `${summary.removed} removed, ${summary.unchanged} unchanged, ${summary.failed} failed; ` +
            `${plural(summary.trackingDeleted, 'greylisting tracking record', 'greylisting tracking records')} removed.`,
        );
      }
      if (summary.failed > 0) {
        errorLine(
          io,
          `${plural(summary.failed, 'domain', 'domains')} could not be resolved; their entries were kept.`,
        );
        env.setExit(EXIT.partial);
      }
    },
    settings,
  );
}

/**
 * Register `spf-whitelists` (alias `spf_to_greylist_whitelists`) on the program.
 *
 * @example
 * ```ts
 * registerSpfWhitelistsCommand(program, env);
 * await program.parseAsync(['spf-whitelists', '--submit', 'example.com'], { from: 'user' });
 * ```
 */
export function registerSpfWhitelistsCommand(program: Command, env: CommandEnv): Command {
  const command = program
    .command('spf-whitelists')
    .alias('spf_to_greylist_whitelists')
    .summary("refresh whitelisted sender domains' IPs (iRedAPD's spf_to_greylist_whitelists.py)")
    .description(
      'Whitelist, for greylisting, the IP addresses and networks of the SPF records (or MX hosts) of the ' +
        'whitelisted sender domains, replacing the entries of the previous run.',
    )
    .argument('[domains...]', 'domains to refresh; default: every domain of greylisting_whitelist_domains')
    .option('--submit', 'also add the given domains to greylisting_whitelist_domains')
    .option(
      '--seed-defaults',
      `add the shipped list of ${DEFAULT_WHITELIST_DOMAINS.length} big senders first`,
    )
    .option('--verbose', 'also show unchanged domains, values owned by other domains and skipped SPF terms')
    .option('--debug', 'the same as --verbose (iRedAPD)');
  addDatabaseOptions(command)
    .addHelpText('after', EXAMPLES)
    .action(async (domains: string[], flags: SpfWhitelistsFlags) => {
      await run(domains, flags, env);
    });
  return command;
}
