// One spelling per delivery address, so limits count the mailbox or the phone rather than the text an
// identity record happens to hold: two identities sharing an address share its limit.
import type { Channel } from './model.js';

/** An e-mail address as a mailbox: trimmed and lower-cased (providers treat the local part without case). */
export function normalizedEmail(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * A phone number in E.164 where it can be: spaces, dots, dashes, slashes and brackets removed, a `tel:`
 * prefix dropped, and the international prefix `00` written as `+`. A number without a country code
 * cannot be made E.164 without guessing one; it keeps its digits as they are.
 */
export function normalizedPhone(number: string): string {
  const compact = number
    .trim()
    .replace(/^tel:/i, '')
    .replace(/[\s.\-/()]/g, '');
  if (/^00[1-9][0-9]*$/.test(compact)) return `+${compact.slice(2)}`;
  return compact;
}

/** The address as limits count it, for the channel that delivers to it. */
export function normalizedAddress(channel: Channel, address: string): string {
  return channel === 'email' ? normalizedEmail(address) : normalizedPhone(address);
}
