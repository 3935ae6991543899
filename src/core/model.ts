// The vocabulary of the service: the spec's enums and the records the core reasons about.

export const DELIVERY_TYPES = ['SMS_PERSONAL', 'VOICE_PERSONAL', 'SMS_WORK', 'VOICE_WORK', 'EMAIL_WORK', 'EMAIL_PERSONAL'] as const;
export type DeliveryType = (typeof DELIVERY_TYPES)[number];

export type Channel = 'email' | 'sms' | 'voice';

/**
 * A method's id. The methods are listed once, in the registry (src/methods/index.ts); the core takes
 * only this type from it, never a module, so it stays free of I/O.
 */
export type { Method } from '../methods/index.js';
import type { Method } from '../methods/index.js';

export type VerificationStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'LOCKOUT' | 'NOT_ENOUGH_DATA';

/** Which channel a delivery type uses and which identity attribute holds the address. */
export const DELIVERY_ROUTES: Readonly<Record<DeliveryType, { channel: Channel; attribute: string }>> = {
  EMAIL_WORK: { channel: 'email', attribute: 'email' },
  EMAIL_PERSONAL: { channel: 'email', attribute: 'personalEmail' },
  SMS_PERSONAL: { channel: 'sms', attribute: 'phone' },
  VOICE_PERSONAL: { channel: 'voice', attribute: 'phone' },
  SMS_WORK: { channel: 'sms', attribute: 'workPhone' },
  VOICE_WORK: { channel: 'voice', attribute: 'workPhone' },
};

export type IdentityStatus = 'active' | 'disabled';

export interface Identity {
  readonly id: string;
  readonly alias: string;
  readonly status: IdentityStatus;
  /** Named attributes: the delivery addresses (email, personalEmail, phone, workPhone) and any others. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Verification {
  readonly id: string;
  readonly method: Method;
  /** Whom it verifies: the alias as the caller gave it, known or not, so unknown aliases behave alike. */
  readonly subject: string;
  readonly clientId: string;
  readonly deliveryType: DeliveryType | null;
  /** Keyed hash of the secret (the token), never the secret itself. */
  readonly secretHash: string | null;
  readonly status: VerificationStatus;
  readonly error: string | null;
  readonly attempts: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly completedAt: number | null;
}

export interface ApiClient {
  readonly clientId: string;
  readonly name: string;
  readonly secretHash: string;
  readonly scopes: readonly string[];
  /** A personal client acts for this identity (its id); a service client for none. */
  readonly identityId: string | null;
  /** The current alias of that identity (read with the client), null for a service client or a gone identity. */
  readonly identityAlias: string | null;
  readonly createdAt: number;
  /** When the client was disabled: its tokens stop working and it gets no new ones. */
  readonly disabledAt: number | null;
}

/** A security question; `texts` maps a locale to the text, '' holding the default-locale text. */
export interface KbaQuestion {
  readonly id: string;
  readonly texts: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

export interface KbaAnswerRecord {
  readonly questionId: string;
  /** argon2id hash (PHC string) of the normalised answer. */
  readonly answerHash: string;
}
