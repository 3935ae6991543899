// The security questions section: how many the person has answered, and a form to choose questions from
// the catalog and answer them, replacing every earlier answer. Saving goes through KbaService.setAnswers,
// so its enrolment limits and its own factor-change check apply as for any application.
import { ServiceError } from '../../../core/errors.js';
import { textFor } from '../../../core/kba.js';
import type { KbaQuestion } from '../../../core/model.js';
import type { Store } from '../../../core/ports.js';
import { ERROR_CHANGE_LOCKED, type KbaService } from '../../../methods/kba/service.js';
import { html, type Html, type PageLocale } from '../../page.js';
import { csrfField, noticeBox } from '../layout.js';
import type { PortalSection, RouteResult, SignedInContext } from '../section.js';

export const SECURITY_QUESTIONS_ID = 'security-questions';

interface Texts {
  readonly title: string;
  readonly answered: (n: number) => string;
  readonly none: string;
  readonly setUp: string;
  readonly change: string;
  readonly unavailable: string;
  readonly intro: (min: number) => string;
  readonly row: (i: number, of: number) => string;
  readonly question: string;
  readonly choose: string;
  readonly answer: string;
  readonly save: string;
  readonly cancel: string;
  readonly saved: string;
  readonly missingAnswer: (i: number) => string;
  readonly missingQuestion: (i: number) => string;
  readonly duplicate: string;
  readonly tooFew: (min: number) => string;
  readonly notSaved: string;
  readonly locked: string;
  readonly changed: string;
}

const TEXTS: Readonly<Record<PageLocale, Texts>> = {
  en: {
    title: 'Security questions',
    answered: (n) => (n === 1 ? 'You have answered 1 security question.' : `You have answered ${n} security questions.`),
    none: 'You have not set up security questions.',
    setUp: 'Set up security questions',
    change: 'Change security answers',
    unavailable: 'No security questions are available yet. Ask your administrator.',
    intro: (min) => `Choose ${min} different questions and answer each. Answers are not case-sensitive. Saving replaces all your earlier answers.`,
    row: (i, of) => `Question ${i} of ${of}`,
    question: 'Question',
    choose: 'Choose a question',
    answer: 'Your answer',
    save: 'Save answers',
    cancel: 'Cancel',
    saved: 'Your security answers are saved.',
    missingAnswer: (i) => `Answer question ${i}.`,
    missingQuestion: (i) => `Choose a question for answer ${i}.`,
    duplicate: 'Each question can be chosen only once.',
    tooFew: (min) => `Answer at least ${min} questions.`,
    notSaved: 'The answers were not saved. Check each question and answer, then try again.',
    locked: 'After too many failed attempts your account is locked for a while; your answers cannot be changed until then.',
    changed: 'The questions changed while you were answering. Please try again.',
  },
  de: {
    title: 'Sicherheitsfragen',
    answered: (n) => (n === 1 ? 'Sie haben 1 Sicherheitsfrage beantwortet.' : `Sie haben ${n} Sicherheitsfragen beantwortet.`),
    none: 'Sie haben keine Sicherheitsfragen eingerichtet.',
    setUp: 'Sicherheitsfragen einrichten',
    change: 'Sicherheitsantworten ändern',
    unavailable: 'Es sind noch keine Sicherheitsfragen verfügbar. Wenden Sie sich an Ihre Administration.',
    intro: (min) => `Wählen Sie ${min} verschiedene Fragen und beantworten Sie jede. Groß- und Kleinschreibung spielt keine Rolle. Beim Speichern werden alle bisherigen Antworten ersetzt.`,
    row: (i, of) => `Frage ${i} von ${of}`,
    question: 'Frage',
    choose: 'Frage auswählen',
    answer: 'Ihre Antwort',
    save: 'Antworten speichern',
    cancel: 'Abbrechen',
    saved: 'Ihre Sicherheitsantworten sind gespeichert.',
    missingAnswer: (i) => `Beantworten Sie Frage ${i}.`,
    missingQuestion: (i) => `Wählen Sie eine Frage zu Antwort ${i}.`,
    duplicate: 'Jede Frage kann nur einmal gewählt werden.',
    tooFew: (min) => `Beantworten Sie mindestens ${min} Fragen.`,
    notSaved: 'Die Antworten wurden nicht gespeichert. Prüfen Sie jede Frage und Antwort und versuchen Sie es erneut.',
    locked: 'Nach zu vielen Fehlversuchen ist Ihr Konto eine Weile gesperrt; bis dahin können Ihre Antworten nicht geändert werden.',
    changed: 'Die Fragen haben sich geändert, während Sie geantwortet haben. Bitte versuchen Sie es erneut.',
  },
  fr: {
    title: 'Questions de sécurité',
    answered: (n) => (n === 1 ? 'Vous avez répondu à 1 question de sécurité.' : `Vous avez répondu à ${n} questions de sécurité.`),
    none: 'Vous n’avez pas configuré de questions de sécurité.',
    setUp: 'Configurer les questions de sécurité',
    change: 'Modifier les réponses de sécurité',
    unavailable: 'Aucune question de sécurité n’est encore disponible. Adressez-vous à votre administrateur.',
    intro: (min) => `Choisissez ${min} questions différentes et répondez à chacune. Les majuscules et minuscules sont indifférentes. L’enregistrement remplace toutes vos réponses précédentes.`,
    row: (i, of) => `Question ${i} sur ${of}`,
    question: 'Question',
    choose: 'Choisissez une question',
    answer: 'Votre réponse',
    save: 'Enregistrer les réponses',
    cancel: 'Annuler',
    saved: 'Vos réponses de sécurité sont enregistrées.',
    missingAnswer: (i) => `Répondez à la question ${i}.`,
    missingQuestion: (i) => `Choisissez une question pour la réponse ${i}.`,
    duplicate: 'Chaque question ne peut être choisie qu’une fois.',
    tooFew: (min) => `Répondez à au moins ${min} questions.`,
    notSaved: 'Les réponses n’ont pas été enregistrées. Vérifiez chaque question et chaque réponse, puis réessayez.',
    locked: 'Après trop de tentatives échouées, votre compte est bloqué pour un moment ; vos réponses ne peuvent pas être modifiées d’ici là.',
    changed: 'Les questions ont changé pendant que vous répondiez. Veuillez réessayer.',
  },
};

export interface SecurityQuestionsDeps {
  readonly store: Pick<Store, 'listQuestions' | 'listAnswers'>;
  readonly kbaService: Pick<KbaService, 'setAnswers'>;
  /** MFA_KBA_MIN_ANSWERS: how many questions the form asks for at least. */
  readonly minAnswers: number;
  /** The client the enrolment limits count the portal's enrolments against. */
  readonly clientId: string;
}

interface Row {
  readonly questionId: string;
  readonly answer: string;
}

/** The filled rows of the form, or what is wrong with them (in the page's words). */
export function readAnswerRows(form: Readonly<Record<string, string>>, rows: number, minAnswers: number, t: Texts): { items: Row[]; problems: string[] } {
  const items: Row[] = [];
  const problems: string[] = [];
  for (let i = 1; i <= rows; i++) {
    const questionId = (form[`question-${i}`] ?? '').trim();
    const answer = form[`answer-${i}`] ?? '';
    if (questionId === '' && answer.trim() === '') continue;
    if (questionId === '') problems.push(t.missingQuestion(i));
    else if (answer.trim() === '') problems.push(t.missingAnswer(i));
    else items.push({ questionId, answer });
  }
  if (new Set(items.map((item) => item.questionId)).size !== items.length) problems.push(t.duplicate);
  if (problems.length === 0 && items.length < minAnswers) problems.push(t.tooFew(minAnswers));
  return { items, problems };
}

export function securityQuestionsSection(deps: SecurityQuestionsDeps): PortalSection {
  const hasAnswers = async (ctx: SignedInContext): Promise<boolean> => (await deps.store.listAnswers(ctx.identity.id)).length > 0;
  /** As many rows as the minimum, or as the person has answers, and never more than the catalog holds. */
  const rowCount = (catalog: number, answered: number): number => Math.min(catalog, Math.max(deps.minAnswers, answered));

  function form(ctx: SignedInContext, catalog: readonly KbaQuestion[], selected: readonly string[], problems: readonly string[]): Html {
    const t = TEXTS[ctx.locale];
    const rows = rowCount(catalog.length, selected.length);
    const fieldsets = Array.from({ length: rows }, (_, index) => {
      const i = index + 1;
      const chosen = selected[index] ?? '';
      const options = catalog.map((q) =>
        q.id === chosen ? html`<option value="${q.id}" selected>${textFor(q, ctx.locale)}</option>` : html`<option value="${q.id}">${textFor(q, ctx.locale)}</option>`,
      );
      return html`<fieldset class="portal-row">
<legend>${t.row(i, rows)}</legend>
<label for="question-${i}">${t.question}</label>
<select id="question-${i}" name="question-${i}" required><option value="">${t.choose}</option>${options}</select>
<label for="answer-${i}">${t.answer}</label>
<input id="answer-${i}" name="answer-${i}" type="text" autocomplete="off" spellcheck="false" required maxlength="500">
</fieldset>`;
    });
    const errors = problems.length === 0 ? html`` : html`<div class="status bad" role="alert"><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`;
    return html`<p>${t.intro(deps.minAnswers)}</p>
${errors}
<form method="post" action="/portal/${SECURITY_QUESTIONS_ID}">
${csrfField(ctx.session.csrfToken)}
${fieldsets}
<button type="submit">${t.save}</button> <a href="/portal">${t.cancel}</a>
</form>`;
  }

  async function formPage(ctx: SignedInContext, selected: readonly string[] | undefined, problems: readonly string[], status = 200): Promise<RouteResult> {
    const t = TEXTS[ctx.locale];
    const catalog = await deps.store.listQuestions();
    const current = selected ?? (await deps.store.listAnswers(ctx.identity.id)).map((a) => a.questionId);
    const title = current.length > 0 ? t.change : t.setUp;
    if (catalog.length < deps.minAnswers) return { kind: 'page', status, title, body: noticeBox({ kind: 'bad', text: t.unavailable }) };
    return { kind: 'page', status, title, body: form(ctx, catalog, current, problems) };
  }

  return {
    id: SECURITY_QUESTIONS_ID,
    savedNotice: (locale) => TEXTS[locale].saved,
    async overview(ctx) {
      const t = TEXTS[ctx.locale];
      const [answers, catalog] = await Promise.all([deps.store.listAnswers(ctx.identity.id), deps.store.listQuestions()]);
      const state = answers.length > 0 ? t.answered(answers.length) : t.none;
      const action =
        catalog.length < deps.minAnswers
          ? html`<p class="muted">${t.unavailable}</p>`
          : html`<p><a class="button" href="/portal/${SECURITY_QUESTIONS_ID}">${answers.length > 0 ? t.change : t.setUp}</a></p>`;
      return html`<section aria-labelledby="${SECURITY_QUESTIONS_ID}-title" id="${SECURITY_QUESTIONS_ID}">
<h2 id="${SECURITY_QUESTIONS_ID}-title">${t.title}</h2>
<p>${state}</p>
${action}
</section>`;
    },
    routes: [
      {
        method: 'GET',
        path: '',
        changesFactor: hasAnswers,
        handle: (ctx) => formPage(ctx, undefined, []),
      },
      {
        method: 'POST',
        path: '',
        changesFactor: hasAnswers,
        async handle(ctx, input) {
          const t = TEXTS[ctx.locale];
          const catalog = await deps.store.listQuestions();
          const rows = Math.max(deps.minAnswers, catalog.length);
          const selected = Array.from({ length: rows }, (_, i) => (input.form[`question-${i + 1}`] ?? '').trim()).filter(Boolean);
          const { items, problems } = readAnswerRows(input.form, rows, deps.minAnswers, t);
          if (problems.length > 0) return formPage(ctx, selected, problems, 400);
          try {
            await deps.kbaService.setAnswers(
              ctx.identity,
              deps.clientId,
              items.map((item) => ({ id: item.questionId, answer: item.answer })),
            );
          } catch (err) {
            if (!(err instanceof ServiceError) || err.code === 'RATE_LIMITED') throw err;
            if (err.code === 'FORBIDDEN') {
              // Locked out, or (another process's clock) no recent verification in the store's view.
              if (err.message === ERROR_CHANGE_LOCKED) return formPage(ctx, selected, [t.locked], 403);
              return { kind: 'redirect', to: `/portal/verify?next=${encodeURIComponent(`/portal/${SECURITY_QUESTIONS_ID}`)}` };
            }
            return formPage(ctx, selected, [err.code === 'CONFLICT' ? t.changed : t.notSaved], err.code === 'CONFLICT' ? 409 : 400);
          }
          return { kind: 'redirect', to: `/portal?done=${SECURITY_QUESTIONS_ID}` };
        },
      },
    ],
  };
}
