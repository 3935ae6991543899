// The sections of the "Your sign-in methods" page, in the order they are shown, and the ways to sign in
// besides the email code.
import type { KbaService } from '../../../methods/kba/service.js';
import type { Store } from '../../../core/ports.js';
import type { PasskeyService } from '../../../methods/passkey/service.js';
import type { TotpService } from '../../../methods/totp/service.js';
import type { HasOtherFactor } from '../../../services/factors.js';
import type { PortalSection, SignInMethod } from '../section.js';
import { authenticatorAppSection } from './authenticator-app.js';
import { contactSection } from './contact.js';
import { passkeySignIn } from './passkey-sign-in.js';
import { passkeysSection } from './passkeys.js';
import { recentSection } from './recent.js';
import { securityQuestionsSection } from './security-questions.js';

export interface StandardSectionsDeps {
  readonly store: Pick<Store, 'listQuestions' | 'listAnswers' | 'queryAudit' | 'findClient'>;
  readonly kbaService: Pick<KbaService, 'setAnswers'>;
  readonly kbaMinAnswers: number;
  readonly portalClientId: string;
  readonly passkeys: Pick<PasskeyService, 'list' | 'registrationOptions' | 'verifyRegistration' | 'rename' | 'remove' | 'authenticationOptions' | 'authenticate'>;
  readonly totp: Pick<TotpService, 'status' | 'enrol' | 'confirm' | 'remove'>;
  readonly hasOtherFactor: HasOtherFactor;
}

export function standardSections(deps: StandardSectionsDeps): PortalSection[] {
  const factorDeps = { hasOtherFactor: deps.hasOtherFactor, clientId: deps.portalClientId };
  return [
    passkeysSection({ passkeys: deps.passkeys, ...factorDeps }),
    authenticatorAppSection({ totp: deps.totp, ...factorDeps }),
    securityQuestionsSection({ store: deps.store, kbaService: deps.kbaService, minAnswers: deps.kbaMinAnswers, clientId: deps.portalClientId }),
    contactSection(),
    recentSection({ store: deps.store, portalClientId: deps.portalClientId }),
  ];
}

export function standardSignInMethods(deps: Pick<StandardSectionsDeps, 'passkeys' | 'portalClientId'>): SignInMethod[] {
  return [passkeySignIn({ passkeys: deps.passkeys, clientId: deps.portalClientId })];
}
