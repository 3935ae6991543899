// Invitations to the self-service portal (docs/portal.md): an operator sends one to an identity's email;
// the link signs that identity in once, within its lifetime. Used by `users invite`, by
// POST /admin/v1/identities/{alias}/invitations and by the portal, which redeems it.
import { maskAddress } from '../core/audit.js';
import { ServiceError, badRequest, notFound } from '../core/errors.js';
import { invitationHash, invitationLink, isInvitationTokenShape, newInvitationToken } from '../core/invitation.js';
import { DELIVERY_ROUTES, type Identity } from '../core/model.js';
import type { PortalStore } from '../core/portal-store.js';
import type { Clock, Message, Sender, Store } from '../core/ports.js';
import type { RandomBytes } from '../core/secrets.js';
import type { InvitationMessageInput } from '../delivery/invitation.js';

/** The identity attribute invitations and the portal's sign-in codes go to: the work email, as EMAIL_WORK uses. */
export const PORTAL_EMAIL_ATTRIBUTE = DELIVERY_ROUTES.EMAIL_WORK.attribute;

export interface InvitationsDeps {
  readonly store: Pick<Store, 'findIdentity' | 'findIdentityById'>;
  readonly portalStore: Pick<PortalStore, 'addInvitation' | 'redeemInvitation'>;
  readonly sender: Sender;
  readonly compose: (input: Omit<InvitationMessageInput, 'defaultLocale'>) => Message;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  readonly hashKey: Buffer;
  readonly publicUrl: string;
  readonly ttlSeconds: number;
  /** False when the portal is switched off: no invitation can be used, so none is sent. */
  readonly portalEnabled: boolean;
  readonly onDeliveryError?: (err: unknown) => void;
}

export interface SentInvitation {
  readonly alias: string;
  /** The link itself: whoever holds it can sign in once, so it is shown only to the operator who asked. */
  readonly link: string;
  readonly expiresAt: number;
  /** The address it was sent to, masked. */
  readonly sentTo: string;
  /** False when the transport refused the message; the link works all the same and can be passed on by hand. */
  readonly delivered: boolean;
}

export const ERROR_PORTAL_DISABLED = 'The self-service portal is switched off (MFA_PORTAL_ENABLED=false): an invitation could not be used.';

export class Invitations {
  constructor(private readonly deps: InvitationsDeps) {}

  /** A new invitation for the identity, sent to its email; earlier unused ones stop working. */
  async invite(alias: string): Promise<SentInvitation> {
    const { deps } = this;
    if (!deps.portalEnabled) throw new ServiceError('CONFLICT', ERROR_PORTAL_DISABLED);
    const identity = await deps.store.findIdentity(alias);
    if (!identity) throw notFound(`No identity with alias ${alias}.`);
    if (identity.status !== 'active') throw new ServiceError('CONFLICT', `The identity ${alias} is disabled; it cannot sign in.`);
    const email = identity.attributes[PORTAL_EMAIL_ATTRIBUTE];
    if (!email) throw badRequest(`The identity ${alias} has no ${PORTAL_EMAIL_ATTRIBUTE} attribute to send the invitation to.`);

    const token = newInvitationToken(deps.randomBytes);
    const now = deps.clock.now();
    const expiresAt = now + deps.ttlSeconds * 1000;
    await deps.portalStore.addInvitation({ tokenHash: invitationHash(deps.hashKey, token), identityId: identity.id, createdAt: now, expiresAt });
    const link = invitationLink(deps.publicUrl, token);
    let delivered = true;
    try {
      await deps.sender.send(deps.compose({ to: email, alias: identity.alias, link, ttlSeconds: deps.ttlSeconds, locale: identity.attributes['locale'] }));
    } catch (err) {
      // The transport's words may name hosts and the address: the log has them, the caller learns only this.
      delivered = false;
      deps.onDeliveryError?.(err);
    }
    return { alias: identity.alias, link, expiresAt, sentTo: maskAddress(email), delivered };
  }

  /** Uses up the invitation: the active identity it signs in, or undefined (unknown, used, expired, identity gone or disabled). */
  async redeem(token: string): Promise<Identity | undefined> {
    if (!isInvitationTokenShape(token)) return undefined;
    const identityId = await this.deps.portalStore.redeemInvitation(invitationHash(this.deps.hashKey, token), this.deps.clock.now());
    if (identityId === undefined) return undefined;
    const identity = await this.deps.store.findIdentityById(identityId);
    return identity?.status === 'active' ? identity : undefined;
  }
}
