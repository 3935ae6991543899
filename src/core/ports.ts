// The seams the core defines and the adapters implement: storage, delivery, rate counting.
import type { AuditEvent, AuditQuery, Decision } from './audit.js';
import type { ApiClient, Channel, DeliveryType, Identity, IdentityStatus, KbaAnswerRecord, KbaQuestion, Method, Verification, VerificationStatus } from './model.js';

export interface IdentityInput {
  readonly alias: string;
  readonly status: IdentityStatus;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: string;
  /** The private JWK, encrypted with a key derived from the master secret. */
  readonly sealedPrivateJwk: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
  /** When the key stopped verifying at once (rotation with --retire-previous), instead of after a grace period. */
  readonly revokedAt: number | null;
}

export interface NewTokenVerification {
  readonly id: string;
  readonly subject: string;
  readonly clientId: string;
  readonly deliveryType: DeliveryType;
  readonly secretHash: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface TokenState {
  /** 0 when not locked. */
  readonly lockedUntil: number;
  readonly current: Verification | undefined;
}

export interface GuessRecord {
  readonly verificationId: string;
  readonly subject: string;
  readonly method: Method;
  readonly guessHash: string;
  readonly maxAttempts: number;
  readonly now: number;
}

/** A provider configuration as stored: secrets sealed, the rest plain. */
export interface StoredProviderConfig {
  readonly method: string;
  readonly enabled: boolean;
  readonly host: string | null;
  readonly identityAttribute: string | null;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly sealedSecrets: string;
  readonly updatedAt: number;
}

export interface FailureCount {
  readonly failures: number;
  readonly lockedUntil: number;
}

export interface FailurePolicy {
  readonly windowMs: number;
  readonly maxFailures: number;
  readonly lockoutMs: number;
}

/** What a prune run deletes; every limit is an instant in ms, so the store never reads the clock. */
export interface RetentionPolicy {
  /** Verifications that expired before this (with their provider state), and token_subjects rows left pointing at none. */
  readonly verificationsExpiredBefore: number;
  /** Lockout rows whose failure window began before this and whose lock (if any) ended by `now`. */
  readonly lockoutWindowsStartedBefore: number;
  /** Rate counters whose window began before this. */
  readonly countersStartedBefore: number;
  /** Audit events recorded before this; null keeps them all. */
  readonly auditEventsBefore: number | null;
  readonly now: number;
  /** Rows per statement, so no statement holds its locks for long. */
  readonly batchSize: number;
}

export interface PruneResult {
  readonly verifications: number;
  readonly tokenSubjects: number;
  readonly lockouts: number;
  readonly counters: number;
  readonly auditEvents: number;
}

// The store, split by concern: each service is given only the parts it uses (a type-level split: one
// SqlStore implements them all, src/store/sql-store.ts). A method with tables of its own brings its own
// part over the store's SQL driver instead of growing these (docs/methods.md).

export interface IdentityStore {
  findIdentity(alias: string): Promise<Identity | undefined>;
  /** By the identity's own id (SailPoint callers name identities by it), which never changes with the alias. */
  findIdentityById(id: string): Promise<Identity | undefined>;
  listIdentities(limit: number, afterAlias?: string): Promise<Identity[]>;
  /** Creates or replaces every row in one transaction: all are written or none. */
  upsertIdentities(rows: readonly IdentityInput[], newId: () => string, now: number): Promise<{ created: number; updated: number }>;
  /** Deletes the identity with its answers, its authenticator registration and its personal clients, in one transaction. */
  deleteIdentity(alias: string): Promise<boolean>;
}

export interface ClientStore {
  /** Stores a new client; `identityAlias` and `disabledAt` are derived on reading and not written. */
  createClient(client: Omit<ApiClient, 'identityAlias' | 'disabledAt'>): Promise<void>;
  findClient(clientId: string): Promise<ApiClient | undefined>;
  listClients(): Promise<ApiClient[]>;
  deleteClient(clientId: string): Promise<boolean>;
  /** Marks an enabled client disabled; true if it was enabled. */
  disableClient(clientId: string, at: number): Promise<boolean>;
}

export interface SigningKeyStore {
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  retireSigningKeys(exceptKid: string, at: number): Promise<void>;
  /** Stops every key but this one from verifying at once (and retires it). */
  revokeSigningKeys(exceptKid: string, at: number): Promise<void>;
}

/** Verifications of every method: the shared lifecycle (src/methods/lifecycle.ts) and poll. */
export interface VerificationStore {
  findVerification(id: string): Promise<Verification | undefined>;
  /** A verification decided at once (a KBA check, a Duo response), kept so that poll can report it. */
  recordVerification(v: Verification): Promise<void>;
  /** A verification started at a provider, PENDING, with what is needed to ask the provider about it (no secret). */
  startProviderVerification(v: Verification, providerState: string): Promise<void>;
  providerState(verificationId: string): Promise<string | undefined>;
  /** Replaces the provider state of a verification that is still PENDING (RSA's message chain moves on each poll); true if it was. */
  updateProviderState(verificationId: string, providerState: string): Promise<boolean>;
  /** Moves a pending verification to a final status; true only for the one caller that did it. */
  completeVerification(verificationId: string, status: VerificationStatus, error: string | null, now: number): Promise<boolean>;
  /** When a verification of any of these subjects last completed as SUCCESS (any method), 0 if never. */
  lastSuccessAt(subjects: readonly string[]): Promise<number>;
}

/** Per-identity lockouts, kept per alias and method whether or not the alias exists. */
export interface LockoutStore {
  /** Counts one failure of the subject for the method within a window, locking it at the limit. */
  recordFailure(subject: string, method: Method, policy: FailurePolicy, now: number): Promise<FailureCount>;
  /**
   * Counts one failure as recordFailure does and writes, with it, the rows `decide` returns for the count:
   * a check decided by its count is one transaction (one commit) instead of two. `decide` returns nothing
   * when the check goes on (a right answer within the budget); it must not throw.
   */
  recordFailureWithDecision(subject: string, method: Method, policy: FailurePolicy, now: number, decide: (count: FailureCount) => DecidedRows | undefined): Promise<FailureCount>;
  lock(subject: string, method: Method, until: number): Promise<void>;
  /** Forgets the subject's failures for the method and ends any lockout (after a success). */
  clearFailures(subject: string, method: Method): Promise<void>;
  /** The subject's lockout end for a method, 0 when not locked. */
  lockedUntil(subject: string, method: Method): Promise<number>;
  /** How many subjects each method has locked out at `now` (the operator console's dashboard). */
  lockoutsInForce(now: number): Promise<ReadonlyArray<{ readonly method: Method; readonly count: number }>>;
}

/** A verification decided at once and its audit row, written in one transaction. */
export interface DecidedRows {
  readonly verification: Verification;
  /** Absent when the audit sink writes its rows itself (it is told after the commit). */
  readonly audit: AuditEvent | undefined;
}

/** The one-time token method's atomic statements (its hot path). */
export interface TokenStore {
  /**
   * Makes `v` the subject's current token verification and supersedes older pending ones, in one
   * transaction; unless the same client asked for the same delivery type within the resend interval
   * and that token is still pending, in which case nothing is written and that request's id comes back.
   */
  startTokenVerification(v: NewTokenVerification, resendCutoff: number): Promise<{ requestId: string; created: boolean }>;
  /** The subject's lockout end and current token verification, read together. */
  tokenState(subject: string): Promise<TokenState>;
  /**
   * Counts a wrong guess in one transaction: takes a try from the verification (if it is pending,
   * unexpired, has tries left, and the guess is not the same as the last one, which a client retry
   * would be) and counts a failure of the subject. Undefined when no try was taken.
   *
   * `audit`, when given, is the row of the guess's plain answer (a wrong token, nothing locked): appended in
   * the same transaction when the try was taken, the verification has tries left and the subject is not
   * locked (the case `lockAfterWrongGuess` answers undefined); `audited` says whether it was. One commit
   * for the guess and its record; if the row cannot be written, neither is the guess.
   */
  recordWrongGuess(
    guess: GuessRecord,
    failurePolicy: FailurePolicy,
    audit?: AuditEvent,
  ): Promise<{ attemptsUsed: number; failures: FailureCount; audited: boolean } | undefined>;
  /** Completes the verification as SUCCESS if it is pending, unexpired and has a try left; true for exactly one caller. */
  acceptCorrectGuess(guess: GuessRecord): Promise<boolean>;
}

/** Security questions and the identities' answers. */
export interface KbaStore {
  /** Creates or replaces a question's texts. */
  putQuestion(question: KbaQuestion): Promise<void>;
  listQuestions(): Promise<KbaQuestion[]>;
  removeQuestion(id: string): Promise<boolean>;
  /** How many identities have answered each question (questions nobody answered are absent). */
  answerCounts(): Promise<Map<string, number>>;
  listAnswers(identityId: string): Promise<KbaAnswerRecord[]>;
  /**
   * Replaces all of an identity's answers in one transaction. False, with nothing changed, when one of
   * the questions no longer exists, or, with `onlyIfNone`, when the identity has answers by then.
   */
  replaceAnswers(identityId: string, answers: readonly KbaAnswerRecord[], now: number, options?: { readonly onlyIfNone?: boolean }): Promise<boolean>;
}

/** Configurations of the methods that rely on an outside provider. */
export interface ProviderConfigStore {
  findProviderConfig(method: string): Promise<StoredProviderConfig | undefined>;
  putProviderConfig(config: StoredProviderConfig): Promise<void>;
  deleteProviderConfig(method: string): Promise<boolean>;
}

export interface CounterStore {
  /** Fixed-window counter shared by every process on this store. */
  hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  /** The same counter read without a hit: 0 when it has no hits in the current window. */
  peekCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
}

/** The audit trail: append-only (a row is never changed; only retention deletes old ones). */
export interface AuditStore {
  appendAudit(event: AuditEvent): Promise<void>;
  /** Events matching every given filter, ordered by id (newest first unless `order` is 'oldest'). */
  queryAudit(query: AuditQuery): Promise<AuditEvent[]>;
}

/** The database itself: schema, health, retention (docs/operations.md, "Retention"). */
export interface StoreMaintenance {
  readonly kind: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Deletes what no answer depends on any more, in batches of `policy.batchSize` rows per statement.
   * Undefined when another process is pruning the same database at this moment (PostgreSQL advisory lock).
   */
  prune(policy: RetentionPolicy): Promise<PruneResult | undefined>;
}

/** Every part: what the composition root opens and hands out in parts. */
export interface Store
  extends StoreMaintenance,
    IdentityStore,
    ClientStore,
    SigningKeyStore,
    VerificationStore,
    LockoutStore,
    TokenStore,
    KbaStore,
    ProviderConfigStore,
    CounterStore,
    AuditStore {}

/**
 * Where the services report each verification decision (docs/operations.md, "Audit log"). Awaited at
 * the decision point: when it rejects, the request fails (the service fails closed rather than decide
 * without a record).
 */
export interface AuditSink {
  record(decision: Decision): Promise<void>;
  /**
   * For a decision the caller writes with the change it records, in one transaction (one commit instead
   * of two): the row to write, then one of the calls of PreparedAudit. Sinks without it are told through
   * `record`.
   */
  prepare?(decision: Decision): PreparedAudit;
}

export interface PreparedAudit {
  readonly event: AuditEvent;
  /** The row was committed with the change: what `record` does after its own insert (listeners, counts). */
  written(): Promise<void>;
  /** The row was left out: records `decision` in its place, as `record` would. */
  instead(decision: Decision): Promise<void>;
  /** The transaction that carried the row failed (the request fails). */
  failed(err: unknown): void;
}

export interface RateCounter {
  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  /** Reads a counter without counting a hit (a limit checked before the work it limits is known to count). */
  peek(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  close(): Promise<void>;
}

export interface Message {
  readonly channel: Channel;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly locale: string;
  /** The verification the message belongs to; the outbox keeps it so a developer can match message to request. */
  readonly requestId?: string;
}

export interface Sender {
  /** Resolves when the transport accepted the message; rejects with DeliveryError otherwise. */
  send(message: Message): Promise<void>;
  close?(): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export interface Clock {
  now(): number;
}
