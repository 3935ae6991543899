// The sections of the "Your sign-in methods" page, in the order they are shown. Passkeys and the
// authenticator app join this list (after security questions) once their methods are merged.
import type { KbaService } from '../../../methods/kba/service.js';
import type { Store } from '../../../core/ports.js';
import type { PortalSection } from '../section.js';
import { contactSection } from './contact.js';
import { recentSection } from './recent.js';
import { securityQuestionsSection } from './security-questions.js';

export interface StandardSectionsDeps {
  readonly store: Pick<Store, 'listQuestions' | 'listAnswers' | 'queryAudit' | 'findClient'>;
  readonly kbaService: Pick<KbaService, 'setAnswers'>;
  readonly kbaMinAnswers: number;
  readonly portalClientId: string;
}

export function standardSections(deps: StandardSectionsDeps): PortalSection[] {
  return [
    securityQuestionsSection({ store: deps.store, kbaService: deps.kbaService, minAnswers: deps.kbaMinAnswers, clientId: deps.portalClientId }),
    contactSection(),
    recentSection({ store: deps.store, portalClientId: deps.portalClientId }),
  ];
}
