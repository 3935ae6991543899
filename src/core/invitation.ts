// Invitations to the self-service portal (docs/portal.md): a link that signs one identity in once. The
// token rides in the link's fragment, which browsers never send to a server or put in a Referer, so it
// stays out of access logs and proxies; the page's script hands it to the service in a form post.
import { keyedHash, type RandomBytes } from './secrets.js';

export const INVITATION_PATH = '/portal/invitation';

/** 256 random bits, base64url (43 characters). */
export function newInvitationToken(randomBytes: RandomBytes): string {
  return randomBytes(32).toString('base64url');
}

export function isInvitationTokenShape(text: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(text);
}

/** What the store keeps: the token's keyed hash, never the token. */
export function invitationHash(key: Buffer, token: string): string {
  return keyedHash(key, 'portal-invitation', token);
}

export function invitationLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${INVITATION_PATH}#${token}`;
}
