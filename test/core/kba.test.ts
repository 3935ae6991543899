// Defends security-answer matching and question display: answers that a person would call equal must hash equal
// (or they are locked out of their own account), different answers must stay different, and a check's outcome
// follows the configured policy exactly (no success with too few correct answers, no check without enough data).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allTexts, correctNeeded, decideKba, normalizeAnswer, textFor, type KbaPolicy } from '../../src/core/kba.js';
import type { KbaQuestion } from '../../src/core/model.js';

describe('normalizeAnswer', () => {
  it('applies NFKC: full-width letters, ligatures and compatibility forms become their plain letters', () => {
    assert.equal(normalizeAnswer('ＰＡＲＩＳ'), 'paris');
    assert.equal(normalizeAnswer('ＰＡＲＩＳ'), normalizeAnswer('Paris'));
    assert.equal(normalizeAnswer('ﬁsh'), 'fish');
    assert.equal(normalizeAnswer('ﬁsh'), normalizeAnswer('FISH'));
    assert.equal(normalizeAnswer('①②'), '12');
  });

  it('composes: a precomposed letter and its decomposed form are one answer', () => {
    assert.equal(normalizeAnswer('Sa\u0303o Paulo'), normalizeAnswer('São Paulo'));
    assert.equal(normalizeAnswer('São Paulo'), 'são paulo');
  });

  it('folds case, including ß against SS and the Greek final sigma', () => {
    assert.equal(normalizeAnswer('PARIS'), 'paris');
    assert.equal(normalizeAnswer('Straße'), normalizeAnswer('STRASSE'));
    assert.equal(normalizeAnswer('Straße'), normalizeAnswer('strasse'));
    assert.equal(normalizeAnswer('Straße'), 'strasse');
    // Final sigma (ς), medial sigma written at the end (σ) and capital sigma (Σ) are one letter.
    assert.equal(normalizeAnswer('ΟΔΟΣ'), normalizeAnswer('οδος'));
    assert.equal(normalizeAnswer('οδοσ'), normalizeAnswer('οδος'));
    assert.equal(normalizeAnswer('ΣΊΣΥΦΟΣ'), normalizeAnswer('Σίσυφος'));
  });

  it('trims white space at both ends', () => {
    assert.equal(normalizeAnswer('  Paris  '), 'paris');
    assert.equal(normalizeAnswer('\t\nParis\r\n'), 'paris');
    assert.equal(normalizeAnswer('\u00a0Paris\u3000'), 'paris');
  });

  it('collapses inner runs of white space (spaces, tabs, newlines, NBSP, ideographic space) to one space', () => {
    assert.equal(normalizeAnswer('São   Paulo'), 'são paulo');
    assert.equal(normalizeAnswer('São\t\tPaulo'), 'são paulo');
    assert.equal(normalizeAnswer('São\r\n\nPaulo'), 'são paulo');
    assert.equal(normalizeAnswer('São\u00a0\u00a0Paulo'), 'são paulo');
    assert.equal(normalizeAnswer('São \t\u00a0\n\u2003\u3000Paulo'), 'são paulo');
  });

  it('keeps what distinguishes answers: letters, digits, punctuation, and the single space between words', () => {
    assert.notEqual(normalizeAnswer('Paris'), normalizeAnswer('Pariss'));
    assert.notEqual(normalizeAnswer('SaoPaulo'), normalizeAnswer('Sao Paulo'));
    assert.notEqual(normalizeAnswer('São Paulo'), normalizeAnswer('Sao Paulo'));
    assert.notEqual(normalizeAnswer('rex1'), normalizeAnswer('rex2'));
    assert.notEqual(normalizeAnswer("o'brien"), normalizeAnswer('obrien'));
  });

  it('reduces blank answers to the empty string, which enrolment refuses', () => {
    assert.equal(normalizeAnswer(''), '');
    assert.equal(normalizeAnswer(' \t\n\u00a0\u3000 '), '');
  });

  it('is idempotent: a normalised answer normalises to itself', () => {
    for (const answer of ['ＰＡＲＩＳ', 'Straße', 'ΟΔΟΣ', ' a\t\tb \n c\u00a0d ', 'ﬁ ﬂ', 'Σίσυφος']) {
      const once = normalizeAnswer(answer);
      assert.equal(normalizeAnswer(once), once, JSON.stringify(answer));
    }
  });
});

describe('textFor', () => {
  const question: KbaQuestion = {
    id: 'pet',
    texts: { '': 'Name of your first pet?', fr: 'Nom de votre premier animal ?', 'pt-BR': 'Nome do seu primeiro animal?', de: 'Name Ihres ersten Haustiers?' },
    createdAt: 0,
  };

  it('uses the exact locale tag when there is a text for it', () => {
    assert.equal(textFor(question, 'fr'), 'Nom de votre premier animal ?');
    assert.equal(textFor(question, 'pt-BR'), 'Nome do seu primeiro animal?');
  });

  it('matches the tag case-insensitively', () => {
    assert.equal(textFor(question, 'PT-br'), 'Nome do seu primeiro animal?');
    assert.equal(textFor(question, 'FR'), 'Nom de votre premier animal ?');
  });

  it('reads a tag written with an underscore (fr_CA) as the same tag (fr-CA)', () => {
    const regional: KbaQuestion = { id: 'q', texts: { '': 'Default?', fr: 'France ?', 'fr-CA': 'Canada ?' }, createdAt: 0 };
    assert.equal(textFor(regional, 'fr_CA'), 'Canada ?');
    assert.equal(textFor(regional, 'fr_BE'), 'France ?');
  });

  it('prefers the default text to any other when the locale has none, whatever order the texts were entered in', () => {
    const defaultLast: KbaQuestion = { id: 'q', texts: { fr: 'France ?', de: 'Deutsch?', '': 'Default?' }, createdAt: 0 };
    assert.equal(textFor(defaultLast, 'ja'), 'Default?');
    assert.equal(textFor(defaultLast, undefined), 'Default?');
  });

  it('falls back to the language of a regional tag', () => {
    assert.equal(textFor(question, 'fr-CA'), 'Nom de votre premier animal ?');
    assert.equal(textFor(question, 'DE-at'), 'Name Ihres ersten Haustiers?');
  });

  it('does not take a regional text for another region or for the bare language', () => {
    assert.equal(textFor(question, 'pt-PT'), 'Name of your first pet?');
    assert.equal(textFor(question, 'pt'), 'Name of your first pet?');
  });

  it('falls back to the default text for an unknown or absent locale', () => {
    assert.equal(textFor(question, 'ja-JP'), 'Name of your first pet?');
    assert.equal(textFor(question, undefined), 'Name of your first pet?');
    assert.equal(textFor(question, ''), 'Name of your first pet?');
  });

  it('uses some text when there is no default text, and an empty string when there is none at all', () => {
    assert.equal(textFor({ id: 'q', texts: { fr: 'Seulement en français ?' }, createdAt: 0 }, 'ja'), 'Seulement en français ?');
    assert.equal(textFor({ id: 'q', texts: {}, createdAt: 0 }, 'ja'), '');
  });
});

describe('allTexts', () => {
  it('lists every text as the spec JSON [{text, locale}], other locales sorted, the default ("") last', () => {
    const question: KbaQuestion = { id: 'q', texts: { '': 'Default?', fr: 'Français ?', de: 'Deutsch?', 'de-CH': 'Schweiz?' }, createdAt: 0 };
    const json = allTexts(question);
    assert.equal(typeof json, 'string');
    const parsed: unknown = JSON.parse(json);
    assert.deepEqual(parsed, [
      { text: 'Deutsch?', locale: 'de' },
      { text: 'Schweiz?', locale: 'de-CH' },
      { text: 'Français ?', locale: 'fr' },
      { text: 'Default?', locale: '' },
    ]);
    // Exactly the two keys of the spec's example, in its order.
    assert.deepEqual(Object.keys((parsed as object[])[0]!), ['text', 'locale']);
  });

  it('matches the spec example byte for byte for a French and a default text', () => {
    const question: KbaQuestion = { id: 'q', texts: { '': 'MFA new question -1 ?', fr: 'Nouvelle question MFA -1 ?' }, createdAt: 0 };
    assert.equal(allTexts(question), '[{"text":"Nouvelle question MFA -1 ?","locale":"fr"},{"text":"MFA new question -1 ?","locale":""}]');
  });

  it('puts the default text last whatever order the texts were entered in', () => {
    const question: KbaQuestion = { id: 'q', texts: { fr: 'Français ?', de: 'Deutsch?', '': 'Default?', en: 'English?' }, createdAt: 0 };
    assert.deepEqual(
      (JSON.parse(allTexts(question)) as { locale: string }[]).map((t) => t.locale),
      ['de', 'en', 'fr', ''],
    );
  });

  it('gives a one-element list for a question with only a default text', () => {
    assert.equal(allTexts({ id: 'q', texts: { '': 'Only?' }, createdAt: 0 }), '[{"text":"Only?","locale":""}]');
  });
});

describe('decideKba', () => {
  const policy = (minAnswers: number, requiredCorrect: number): KbaPolicy => ({
    minAnswers,
    requiredCorrect,
    maxAttempts: 5,
    attemptWindowSeconds: 900,
    lockoutSeconds: 900,
  });

  it('NOT_ENOUGH_DATA when the identity enrolled fewer answers than the minimum, even if all asked are correct', () => {
    assert.equal(decideKba(policy(3, 0), 2, 3, 3), 'NOT_ENOUGH_DATA');
    assert.equal(decideKba(policy(3, 0), 0, 3, 0), 'NOT_ENOUGH_DATA');
    assert.equal(decideKba(policy(3, 1), 2, 1, 1), 'NOT_ENOUGH_DATA');
  });

  it('requiredCorrect 0: SUCCESS only when every question asked is correct', () => {
    assert.equal(decideKba(policy(3, 0), 3, 3, 3), 'SUCCESS');
    assert.equal(decideKba(policy(3, 0), 5, 4, 4), 'SUCCESS');
    assert.equal(decideKba(policy(3, 0), 5, 4, 3), 'FAILED');
    assert.equal(decideKba(policy(3, 0), 3, 3, 2), 'FAILED');
    assert.equal(decideKba(policy(3, 0), 3, 3, 0), 'FAILED');
  });

  it('requiredCorrect 0: asking fewer than minAnswers questions cannot succeed', () => {
    assert.equal(correctNeeded(policy(3, 0), 1), 3);
    assert.equal(decideKba(policy(3, 0), 3, 1, 1), 'FAILED');
    assert.equal(decideKba(policy(3, 0), 3, 2, 2), 'FAILED');
  });

  it('requiredCorrect > 0: SUCCESS at that many correct answers, FAILED below, whatever the number asked', () => {
    assert.equal(correctNeeded(policy(3, 2), 4), 2);
    assert.equal(decideKba(policy(3, 2), 3, 3, 2), 'SUCCESS');
    assert.equal(decideKba(policy(3, 2), 3, 3, 3), 'SUCCESS');
    assert.equal(decideKba(policy(3, 2), 4, 4, 1), 'FAILED');
    assert.equal(decideKba(policy(3, 2), 3, 2, 2), 'SUCCESS');
    assert.equal(decideKba(policy(3, 2), 3, 2, 0), 'FAILED');
  });

  it('never decides PENDING or LOCKOUT: those belong to the service', () => {
    const outcomes = new Set<string>();
    for (let enrolled = 0; enrolled <= 4; enrolled++) {
      for (let asked = 1; asked <= 4; asked++) {
        for (let correct = 0; correct <= asked; correct++) {
          outcomes.add(decideKba(policy(3, 0), enrolled, asked, correct));
          outcomes.add(decideKba(policy(3, 2), enrolled, asked, correct));
        }
      }
    }
    assert.deepEqual([...outcomes].sort(), ['FAILED', 'NOT_ENOUGH_DATA', 'SUCCESS']);
  });
});
