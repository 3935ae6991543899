// Where operators, their passkeys, enrolment links, sessions and ceremonies are kept (src/store/operators.ts).
// Single use (a link, a challenge) and a session's end are each one conditional statement.
import type { Operator, OperatorRole } from './operator.js';
import type { LiveCutoffs } from './portal-session.js';

export interface OperatorPasskey {
  readonly id: string;
  readonly operatorId: string;
  readonly publicKey: string;
  readonly signCount: number;
  readonly transports: readonly string[];
  readonly createdAt: number;
}

export interface OperatorSession {
  readonly idHash: string;
  readonly operator: Operator;
  readonly createdAt: number;
}

export type CeremonyKind = 'enrol' | 'sign-in';

export interface OperatorStore {
  /** Adds the operator, or (same email) gives it the role; answers the stored operator. */
  upsertOperator(operator: Operator): Promise<Operator>;
  findOperator(id: string): Promise<Operator | undefined>;
  listOperators(): Promise<Operator[]>;
  /** A new enrolment link for the operator; an earlier unused one stops working. */
  addEnrolment(tokenHash: string, operatorId: string, expiresAt: number): Promise<void>;
  /** The operator an unexpired link names, without using it up. */
  peekEnrolment(tokenHash: string, now: number): Promise<string | undefined>;
  /** Uses the link up: of concurrent redemptions one finds it. */
  redeemEnrolment(tokenHash: string, now: number): Promise<string | undefined>;
  addCeremony(challenge: string, kind: CeremonyKind, operatorId: string | null, expiresAt: number): Promise<void>;
  /** Uses the challenge up; undefined when unknown, of another kind, answered or expired. */
  consumeCeremony(challenge: string, kind: CeremonyKind, now: number): Promise<{ operatorId: string | null } | undefined>;
  addPasskey(passkey: OperatorPasskey): Promise<boolean>;
  findPasskey(id: string): Promise<OperatorPasskey | undefined>;
  listPasskeys(operatorId: string): Promise<OperatorPasskey[]>;
  /** Sets the counter, only while it still is `from`: false when another use moved it first. */
  advanceSignCount(id: string, from: number, to: number): Promise<boolean>;
  addSession(idHash: string, operatorId: string, now: number): Promise<void>;
  /** The live session, marked used now. */
  touchSession(idHash: string, now: number, cutoffs: LiveCutoffs): Promise<OperatorSession | undefined>;
  deleteSession(idHash: string): Promise<void>;
  pruneExpired(now: number, cutoffs: LiveCutoffs, limit: number): Promise<number>;
}

export type { OperatorRole };
