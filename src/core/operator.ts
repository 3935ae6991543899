// Operators of the console (docs/console.md) as pure decisions: their roles and what each may do, the
// enrolment link's token and what the store keeps of it, and the name an operator's actions carry in
// the audit trail. Operators are not identities of the directory: no API client can act for one.
import { keyedHash, type RandomBytes } from './secrets.js';

export const OPERATOR_ROLES = ['admin', 'viewer'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export interface Operator {
  readonly id: string;
  readonly email: string;
  readonly role: OperatorRole;
  readonly createdAt: number;
}

/** `viewer` reads everything the console shows; only `admin` changes anything. */
export function roleMayChange(role: OperatorRole): boolean {
  return role === 'admin';
}

export function isOperatorRole(text: unknown): text is OperatorRole {
  return OPERATOR_ROLES.some((role) => role === text);
}

/** Longest email kept for an operator. */
export const MAX_OPERATOR_EMAIL_LENGTH = 254;

/** An operator's email, trimmed and lower-cased; undefined when it is not one address. */
export function cleanOperatorEmail(text: string): string | undefined {
  const email = text.trim().toLowerCase();
  if (email.length > MAX_OPERATOR_EMAIL_LENGTH || !/^[^\s@<>"',;]+@[^\s@<>"',;]+\.[^\s@<>"',;]+$/.test(email)) return undefined;
  return email;
}

/** How an operator's changes are signed in the audit trail's client column (the CLI's are plain `operator`). */
export function operatorActor(email: string): string {
  return `operator:${email}`;
}

export function isOperatorActor(clientId: string): boolean {
  return clientId.startsWith('operator:');
}

export const ENROLMENT_PATH = '/console/enrol';

/** The enrolment link works this long. */
export const ENROLMENT_TTL_MS = 24 * 3600 * 1000;

/** 256 random bits, base64url (43 characters): the enrolment link's token, in its fragment. */
export function newEnrolmentToken(randomBytes: RandomBytes): string {
  return randomBytes(32).toString('base64url');
}

export function isEnrolmentTokenShape(text: unknown): text is string {
  return typeof text === 'string' && /^[A-Za-z0-9_-]{43}$/.test(text);
}

/** What the store keeps of an enrolment token: its keyed hash. */
export function enrolmentHash(key: Buffer, token: string): string {
  return keyedHash(key, 'operator-enrolment', token);
}

export function enrolmentLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${ENROLMENT_PATH}#${token}`;
}

/** The console's sessions: ended after 15 minutes unused, and after 8 hours whatever happens. */
export const CONSOLE_SESSION_TIMEOUTS = { idleSeconds: 15 * 60, maxSeconds: 8 * 3600 } as const;

/** A passkey ceremony of the console must be answered within this. */
export const CONSOLE_CEREMONY_TTL_MS = 5 * 60 * 1000;
