// The security-question method: the catalog as an identity sees it, enrolment of answers, and checks.
// Answers are normalised, then stored and compared only as argon2id hashes.
import { ServiceError, badRequest, forbidden, rateLimited } from '../../core/errors.js';
import { allTexts, correctNeeded, decideKba, normalizeAnswer, textFor, type KbaPolicy } from '../../core/kba.js';
import type { Identity, VerificationStatus } from '../../core/model.js';
import type { AuditSink, Clock, KbaStore, LockoutStore, RateCounter } from '../../core/ports.js';
import type { RandomBytes } from '../../core/secrets.js';
import type { FactorChangeRule } from '../../services/factor-change.js';
import { enforceLimits } from '../../services/rate-limits.js';
import { VerificationLifecycle, type LifecycleDeps } from '../lifecycle.js';
import type { HasOtherFactor } from '../../services/factors.js';
import type { AnswerHasher } from './answer-hasher.js';

export interface KbaAnswerItem {
  readonly id: string;
  readonly answer: string;
}

export interface KbaQuestionView {
  readonly id: string;
  readonly text: string;
  readonly hasAnswer: boolean;
  readonly numAnswers: number;
}

export interface KbaAnswerView {
  readonly id: string;
  readonly question: string;
  readonly hasAnswer: boolean;
}

export interface KbaCheck {
  readonly requestId: string;
  readonly kbaAuthResponseItems: Array<{ questionId: string; isVerified: boolean | null }>;
  readonly status: VerificationStatus;
}

/** How often answers may be replaced: each enrolment costs one argon2 hash per answer. */
export interface EnrolmentLimits {
  readonly enrolmentsPerIdentity: number;
  readonly enrolmentsPerClient: number;
  readonly enrolmentWindowSeconds: number;
}

export interface KbaServiceDeps {
  readonly store: KbaStore & Pick<LockoutStore, 'lockedUntil' | 'recordFailure' | 'clearFailures'> & LifecycleDeps['store'];
  readonly clock: Clock;
  /** Counts enrolments against enrolmentLimits, shared by every process (Redis or the store). */
  readonly counter: RateCounter;
  readonly enrolmentLimits: EnrolmentLimits;
  readonly randomBytes: RandomBytes;
  readonly hasher: AnswerHasher;
  readonly policy: KbaPolicy;
  readonly defaultLocale: string;
  /** Answers the identity already has are replaced only as this rule allows (docs/security.md). */
  readonly factorChange: FactorChangeRule;
  /** Whether the identity has a factor of another kind (an authenticator app, a passkey): answers added beside it are a change too. */
  readonly hasOtherFactor: HasOtherFactor;
  /** Told of every check's outcome (never the answers); awaited, so a failure fails the request. */
  readonly audit?: AuditSink;
}

export const ERROR_KBA_LOCKED = 'Too many failed security-question checks; try again later.';
export const ERROR_KBA_NOT_ENROLLED = 'The identity has not answered enough security questions.';
export const ERROR_CHANGE_LOCKED = 'The identity is locked out; its security answers cannot be changed until the lockout ends.';
export const ERROR_CHANGE_NEEDS_PROOF = 'Changing security answers needs a successful verification of this identity first (any method).';

export class KbaService {
  private readonly lifecycle: VerificationLifecycle;

  constructor(private readonly deps: KbaServiceDeps) {
    this.lifecycle = new VerificationLifecycle('kba', deps);
  }

  async questions(identity: Identity, allLanguages: boolean): Promise<KbaQuestionView[]> {
    const [questions, counts] = await Promise.all([this.deps.store.listQuestions(), this.deps.store.answerCounts()]);
    const locale = identity.attributes['locale'] ?? this.deps.defaultLocale;
    return questions.map((q) => {
      const numAnswers = counts.get(q.id) ?? 0;
      return { id: q.id, text: allLanguages ? allTexts(q) : textFor(q, locale), hasAnswer: numAnswers > 0, numAnswers };
    });
  }

  /**
   * Replaces the identity's answers with these, all or nothing; questions left out lose their answer.
   * `clientId` is the caller, whose enrolments are limited as the identity's are.
   */
  async setAnswers(identity: Identity, clientId: string, items: readonly KbaAnswerItem[]): Promise<KbaAnswerView[]> {
    const { store, policy } = this.deps;
    // Every call counts, before anything is read or hashed: enrolling in a loop is refused (429 with Retry-After).
    const limits = this.deps.enrolmentLimits;
    await enforceLimits(this.deps.counter, this.deps.clock, [
      { key: `kba-enrol:identity:${identity.id}`, limit: limits.enrolmentsPerIdentity, windowSeconds: limits.enrolmentWindowSeconds },
      { key: `kba-enrol:client:${clientId}`, limit: limits.enrolmentsPerClient, windowSeconds: limits.enrolmentWindowSeconds },
    ]);
    const questions = await store.listQuestions();
    const known = new Set(questions.map((q) => q.id));
    const problems: string[] = [];
    const seen = new Set<string>();
    const normalized = items.map((item, index) => {
      if (!known.has(item.id)) problems.push(`item ${index} (id "${item.id}"): no such question`);
      else if (seen.has(item.id)) problems.push(`item ${index} (id "${item.id}"): the question is answered twice`);
      seen.add(item.id);
      const answer = normalizeAnswer(item.answer);
      if (answer === '') problems.push(`item ${index} (id "${item.id}"): the answer is empty`);
      return { id: item.id, answer };
    });
    if (problems.length === 0 && items.length < policy.minAnswers) {
      problems.push(`at least ${policy.minAnswers} questions must be answered, got ${items.length}`);
    }
    if (problems.length > 0) throw badRequest('The answers were not saved.', problems);
    const firstEnrolment = await this.checkFactorChange(identity);

    const hashed = await Promise.all(
      normalized.map(async (item) => ({ questionId: item.id, answerHash: await this.deps.hasher.hash(item.answer) })),
    );
    // A first enrolment is written only if it is still the first; when another one landed meanwhile, this
    // one is a change and goes through the rule again.
    let saved = await store.replaceAnswers(identity.id, hashed, this.deps.clock.now(), { onlyIfNone: firstEnrolment });
    if (!saved && firstEnrolment && !(await this.checkFactorChange(identity))) {
      saved = await store.replaceAnswers(identity.id, hashed, this.deps.clock.now());
    }
    if (!saved) throw new ServiceError('CONFLICT', 'A question was removed while the answers were being saved; nothing was changed. Try again.');
    const answered = new Set(hashed.map((h) => h.questionId));
    return questions.map((q) => ({ id: q.id, question: allTexts(q), hasAnswer: answered.has(q.id) }));
  }

  /**
   * The factor-change rule (docs/security.md): answers are set, when the identity already has a factor of
   * any kind, only after a recent successful verification of it, and never during a lockout. True when this
   * is a first enrolment of answers.
   */
  private async checkFactorChange(identity: Identity): Promise<boolean> {
    const answers = this.deps.store.listAnswers(identity.id);
    const other = this.deps.hasOtherFactor(identity, 'kba');
    const decision = await this.deps.factorChange.decide(identity, Promise.all([answers, other]).then(([found, beside]) => found.length > 0 || beside));
    if (decision.kind === 'locked') throw forbidden(ERROR_CHANGE_LOCKED);
    if (decision.kind === 'needs-recent-verification') throw forbidden(ERROR_CHANGE_NEEDS_PROOF);
    return (await answers).length === 0;
  }

  /** One check of answers; every check is recorded as a verification that poll reports. */
  async authenticate(identity: Identity, clientId: string, items: readonly KbaAnswerItem[]): Promise<KbaCheck> {
    const { store, clock, policy } = this.deps;
    if (items.length === 0) throw badRequest('No answers were given.');
    const ids = items.map((i) => i.id);
    if (new Set(ids).size !== ids.length) throw badRequest('A question is answered twice.');
    const needed = correctNeeded(policy, items.length);
    if (items.length < needed) throw badRequest(`At least ${needed} questions must be answered.`);

    const unverified = items.map((i) => ({ questionId: i.id, isVerified: null }));
    const subject = identity.alias;
    const [answers, catalog] = await Promise.all([store.listAnswers(identity.id), store.listQuestions()]);
    if (answers.length < policy.minAnswers) {
      return this.decide(subject, clientId, 'NOT_ENOUGH_DATA', ERROR_KBA_NOT_ENROLLED, unverified);
    }
    // Every answer costs one argon2 verification, unknown ids included (they meet a decoy), and all checks share the
    // hasher's bounded queue: without a bound, one request of thousands of ids fills it and every other identity's
    // check answers 429 (after its attempt was counted). A check can ask at most every question of the (public) catalog.
    if (items.length > catalog.length) throw badRequest(`At most ${catalog.length} questions can be answered.`);

    // Every check counts before any answer is compared, so concurrent checks cannot exceed the limit.
    const now = clock.now();
    if ((await store.lockedUntil(subject, 'kba')) > now) return this.decide(subject, clientId, 'LOCKOUT', ERROR_KBA_LOCKED, unverified);
    // The hasher's room for every comparison is claimed before the attempt is counted: a check the instance cannot
    // take now is answered 429 without using one of the identity's attempts.
    const room = this.deps.hasher.reserve(items.length);
    if (!room) throw rateLimited(1);
    try {
      const attempt = await store.recordFailure(
        subject,
        'kba',
        { windowMs: policy.attemptWindowSeconds * 1000, maxFailures: policy.maxAttempts, lockoutMs: policy.lockoutSeconds * 1000 },
        now,
      );
      if (attempt.failures > policy.maxAttempts) return this.decide(subject, clientId, 'LOCKOUT', ERROR_KBA_LOCKED, unverified);

      const stored = new Map(answers.map((a) => [a.questionId, a.answerHash]));
      const results = await Promise.all(
        items.map(async (item) => ({ questionId: item.id, isVerified: await room.verify(stored.get(item.id), normalizeAnswer(item.answer)) })),
      );
      const correct = results.filter((r) => r.isVerified).length;
      const status = decideKba(policy, answers.length, items.length, correct);
      if (status === 'SUCCESS') {
        await store.clearFailures(subject, 'kba');
        return this.decide(subject, clientId, 'SUCCESS', null, results);
      }
      if (attempt.failures >= policy.maxAttempts) return this.decide(subject, clientId, 'LOCKOUT', ERROR_KBA_LOCKED, results);
      return this.decide(subject, clientId, 'FAILED', 'The answers do not match.', results);
    } finally {
      room.release();
    }
  }

  /** Every check is decided at once and recorded, so that poll reports it. */
  private async decide(
    subject: string,
    clientId: string,
    status: VerificationStatus,
    error: string | null,
    items: KbaCheck['kbaAuthResponseItems'],
  ): Promise<KbaCheck> {
    const requestId = await this.lifecycle.decide({ operation: 'authenticate', subject, clientId, status, error });
    return { requestId, kbaAuthResponseItems: items, status };
  }
}
