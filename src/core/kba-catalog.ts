// The catalogue of security questions an operator keeps: what a question id, text and locale may be, and
// how one locale's text is added to a question. Shared by the CLI and the operator API; no I/O.
import type { KbaQuestion } from './model.js';

/** Letters, digits and `._:-`, 1 to 128 of them: safe in a URL path segment, a log line and a CSV cell. */
export const QUESTION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const MAX_QUESTION_TEXT_LENGTH = 500;
/** A BCP 47-looking tag (`fr`, `de-CH`, `zh-Hant-TW`); '' stands for the default-locale text. */
export const LOCALE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/**
 * C0 and C1 controls and DEL, the Unicode line and paragraph separators, and unpaired surrogates: a question
 * text is shown on one line to the person answering it and is stored in UTF-8 columns.
 */
const FORBIDDEN_CHARACTER = /[\p{Cc}\u2028\u2029\uD800-\uDFFF]/u;

export interface QuestionInput {
  readonly id: string;
  /** Trimmed. */
  readonly text: string;
  /** '' for the default-locale text. */
  readonly locale: string;
}

/** The checked input, or every problem with it; values come unchecked from a command line or a request body. */
export function validateQuestionInput(value: { readonly id?: unknown; readonly text?: unknown; readonly locale?: unknown }): QuestionInput | string[] {
  const errors: string[] = [];
  const { id, text: rawText, locale = '' } = value;
  if (typeof id !== 'string' || !QUESTION_ID.test(id)) {
    errors.push('The question id must be 1 to 128 characters, each a letter, a digit, ".", "_", ":" or "-".');
  }
  let text = '';
  if (typeof rawText !== 'string') {
    errors.push('The question text must be a string.');
  } else {
    text = rawText.trim();
    const length = [...text].length;
    if (length === 0) errors.push('The question text is empty.');
    else if (length > MAX_QUESTION_TEXT_LENGTH) errors.push(`The question text is longer than ${MAX_QUESTION_TEXT_LENGTH} characters.`);
    if (FORBIDDEN_CHARACTER.test(text)) errors.push('The question text contains a control character or line break.');
  }
  if (typeof locale !== 'string' || (locale !== '' && !LOCALE_TAG.test(locale))) {
    errors.push('The locale must be a language tag such as "fr" or "de-CH", or empty for the default text.');
  }
  if (errors.length > 0) return errors;
  return { id: id as string, text, locale: locale as string };
}

/**
 * The question with `text` for `locale`, added or replacing that locale's text; a new question when none
 * exists. Locales match regardless of case, as textFor looks them up, so `FR` replaces `fr` rather than
 * sitting beside it unreachable.
 */
export function withText(existing: KbaQuestion | undefined, id: string, locale: string, text: string, now: number): KbaQuestion {
  const texts: Record<string, string> = {};
  for (const [key, value] of Object.entries(existing?.texts ?? {})) {
    if (key.toLowerCase() !== locale.toLowerCase()) texts[key] = value;
  }
  texts[locale] = text;
  return { id, texts, createdAt: existing?.createdAt ?? now };
}
