// Decisions of the security-question method (KBA), as pure functions.
import type { KbaQuestion, VerificationStatus } from './model.js';

export interface KbaPolicy {
  /** Answers an identity must have enrolled, and questions a check must ask at least. */
  readonly minAnswers: number;
  /** Correct answers a check needs; 0 means every question asked (and at least minAnswers). */
  readonly requiredCorrect: number;
  /** Checks allowed per window before a lockout. */
  readonly maxAttempts: number;
  readonly attemptWindowSeconds: number;
  readonly lockoutSeconds: number;
}

/**
 * The form in which answers are hashed and compared: Unicode NFKC, case folded, white space trimmed and
 * runs of it collapsed, so "  Paris " and "PARIS" match, as do full-width and ligature forms.
 * Upper-then-lower approximates full case folding (ß and SS both become ss; final and medial sigma meet).
 */
export function normalizeAnswer(answer: string): string {
  return answer.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

/** The question's text for a locale: exact tag, then its language, then the default text. */
export function textFor(question: KbaQuestion, locale: string | undefined): string {
  const texts = question.texts;
  if (locale) {
    const exact = Object.keys(texts).find((l) => l.toLowerCase() === locale.replace('_', '-').toLowerCase());
    if (exact !== undefined) return texts[exact]!;
    const language = locale.split(/[-_]/)[0]!.toLowerCase();
    const byLanguage = Object.keys(texts).find((l) => l.toLowerCase() === language);
    if (byLanguage !== undefined) return texts[byLanguage]!;
  }
  return texts[''] ?? Object.values(texts)[0] ?? '';
}

/** Every text of the question as the spec's JSON string `[{text, locale}]`, the default text ('' locale) last. */
export function allTexts(question: KbaQuestion): string {
  const locales = Object.keys(question.texts).sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  return JSON.stringify(locales.map((locale) => ({ text: question.texts[locale], locale })));
}

/** How many correct answers a check of `asked` questions needs. */
export function correctNeeded(policy: KbaPolicy, asked: number): number {
  return policy.requiredCorrect > 0 ? policy.requiredCorrect : Math.max(asked, policy.minAnswers);
}

/** The outcome of one check, once the answers have been compared. */
export function decideKba(policy: KbaPolicy, enrolled: number, asked: number, correct: number): Exclude<VerificationStatus, 'PENDING' | 'LOCKOUT'> {
  if (enrolled < policy.minAnswers) return 'NOT_ENOUGH_DATA';
  return correct >= correctNeeded(policy, asked) ? 'SUCCESS' : 'FAILED';
}
