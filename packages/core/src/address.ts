/**
 * E-mail address helpers with iRedAPD's exact predicates, so that the same inputs are judged the same way.
 * Pure functions, no I/O.
 */

// `\w` as Python 3 understands it: Unicode letters, digits and underscore.
const W = '\\p{L}\\p{N}_';
const EMAIL = new RegExp(`^[${W}\\-#][${W}\\-.+=/#&]*@[${W}\\-][${W}\\-.]*\\.[a-z0-9\\-]{2,15}`, 'iu');
const DOMAIN = new RegExp(`^[${W}\\-][${W}\\-.]*\\.[a-z]{2,15}`, 'iu');
const FORBIDDEN = /[~!$%^*() ]/;
const DOMAIN_FORBIDDEN = /[~!#$%^&*()+\\/ ]/;

/**
 * iRedAPD's e-mail predicate: after trimming, no `~ ! $ % ^ * ( )` or space, and a prefix match of
 * `local@domain.tld` (TLD 2–15 characters). `user@localhost`, `o'brien@x.com` and `a b@x.com` are not e-mail
 * addresses; `user@example.com>` is (prefix match, as in iRedAPD).
 */
export function isEmail(value: string): boolean {
  const v = value.trim();
  return v !== '' && !FORBIDDEN.test(v) && EMAIL.test(v);
}

/**
 * iRedAPD's domain predicate: none of `~ ! # $ % ^ & * ( ) + \ /` or space, then labels, a dot and a 2–15
 * letter TLD (prefix match). `localhost` is not a domain.
 */
export function isDomain(value: string): boolean {
  const v = value.trim();
  return !DOMAIN_FORBIDDEN.test(v) && DOMAIN.test(v);
}

/** The text after the first `@`, or the whole value when there is none (iRedAPD's `<key>_domain`). */
export function domainOf(address: string): string {
  const at = address.indexOf('@');
  return at === -1 ? address : address.slice(at + 1);
}

/** The text before the first `@` (the whole value when there is none). */
export function localPartOf(address: string): string {
  const at = address.indexOf('@');
  return at === -1 ? address : address.slice(0, at);
}

/**
 * The address without its extension: the first delimiter (in list order) found in the local part cuts it at
 * its first occurrence. `a+b+c@x.com` → `a@x.com`; with `['+', '-']`, `a-b+c@x.com` → `a-b@x.com`.
 * Values that are not e-mail addresses are returned unchanged, as iRedAPD does.
 */
export function stripExtension(address: string, delimiters: readonly string[] = ['+']): string {
  if (!isEmail(address)) return address;
  const at = address.indexOf('@');
  const local = address.slice(0, at);
  for (const delimiter of delimiters) {
    if (delimiter === '') continue;
    const cut = local.indexOf(delimiter);
    if (cut !== -1) return local.slice(0, cut) + address.slice(at);
  }
  return address;
}
