// Decisions of the RSA SecurID method, as pure functions over RSA's answers (NOTES §3): which subject
// RSA is asked about, whether the push method is offered, where the push's referenceId is, and what
// SailPoint status each answer means. No I/O here; the client and the service do the calling.
import type { VerificationStatus } from './model.js';
import { safeProviderCode } from './provider-network.js';
import type { StatusView } from './verification.js';

/** attemptResponseCode and methodResponseCode share this vocabulary. */
export const RSA_RESPONSE_CODES = ['SUCCESS', 'FAIL', 'ERROR', 'CHALLENGE', 'IN_PROCESS'] as const;
export type RsaResponseCode = (typeof RSA_RESPONSE_CODES)[number];

/** The push ("pollable rsa") and the tokencode (SecurID passcode) method ids. */
export const RSA_APPROVE = 'APPROVE';
export const RSA_SECURID = 'SECURID';
export type RsaStartMethod = typeof RSA_APPROVE | typeof RSA_SECURID;

/** A method whose first attribute has this name is listed but cannot be used for this subject. */
const METHOD_NOT_APPLICABLE = 'METHOD_NOT_APPLICABLE';

/** The parts of RSA's AuthNResponse the decisions read. */
export interface RsaAuthnResponse {
  readonly context: { readonly authnAttemptId?: string; readonly messageId?: string; readonly inResponseTo?: string };
  readonly attemptResponseCode: string;
  readonly attemptReasonCode?: string;
  readonly credentialValidationResults?: readonly { readonly methodId?: string; readonly methodResponseCode?: string; readonly methodReasonCode?: string }[];
  readonly challengeMethods?: {
    readonly challenges?: readonly {
      readonly requiredMethods?: readonly {
        readonly methodId?: string;
        readonly versions?: readonly { readonly referenceId?: string; readonly methodAttributes?: readonly { readonly name?: string }[] }[];
      }[];
    }[];
  };
}

/** What the service keeps about a pending push between polls: identifiers only, no secret. */
export interface RsaPushState {
  readonly authnAttemptId: string;
  /** messageId of RSA's last answer: the next request's inResponseTo. */
  readonly messageId: string;
  readonly referenceId: string | null;
}

// Failures are worded without saying whether the person exists at RSA, or here.
export const ERROR_RSA_FAILED = 'RSA SecurID authentication failed.';
export const ERROR_RSA_NOT_AVAILABLE = 'RSA SecurID push approval (APPROVE) is not available for this user.';
export const ERROR_RSA_STEP_UP = 'RSA SecurID requires a further authentication method, which this service cannot collect.';
export const ERROR_RSA_BAD_STATE = 'The RSA SecurID verification can no longer be checked.';

/**
 * The subjectName RSA is asked about: the identity attribute the configuration names, or the alias
 * when none is named. Undefined when the named attribute is missing or empty for this identity.
 */
export function rsaSubjectName(alias: string, attributes: Readonly<Record<string, string>>, identityAttribute: string | null): string | undefined {
  if (!identityAttribute) return alias;
  const value = attributes[identityAttribute]?.trim();
  return value ? value : undefined;
}

function methodsOffered(response: RsaAuthnResponse, methodId: string) {
  return (response.challengeMethods?.challenges ?? []).flatMap((challenge) => challenge.requiredMethods ?? []).filter((m) => m.methodId === methodId);
}

/**
 * Whether an initialize answer lets the method be used: true when RSA lists it as applicable, and also
 * when RSA lists no methods at all (the verify answer then decides).
 */
export function rsaMethodOffered(response: RsaAuthnResponse, methodId: string): boolean {
  const challenges = response.challengeMethods?.challenges ?? [];
  if (challenges.length === 0) return true;
  return methodsOffered(response, methodId).some((m) => (m.versions ?? []).some((v) => v.methodAttributes?.[0]?.name !== METHOD_NOT_APPLICABLE) || (m.versions ?? []).length === 0);
}

/** The referenceId of the pending push, from the challenge of an IN_PROCESS answer. */
export function rsaReferenceId(response: RsaAuthnResponse, methodId: string = RSA_APPROVE): string | null {
  for (const method of methodsOffered(response, methodId)) {
    for (const version of method.versions ?? []) {
      if (version.referenceId) return version.referenceId;
    }
  }
  return null;
}

function methodResult(response: RsaAuthnResponse, methodId: string): string | undefined {
  return response.credentialValidationResults?.find((r) => r.methodId === methodId)?.methodResponseCode;
}

const final = (status: VerificationStatus, error: string | null): StatusView => ({ status, error });

function errorText(response: RsaAuthnResponse): string {
  // Only a code-shaped reason is shown: the caller must not read free text from whatever answered.
  const code = safeProviderCode(response.attemptReasonCode);
  const reason = code ? ` (${code})` : '';
  return `RSA SecurID reported an error${reason}.`;
}

/**
 * What a push answer (the verify that sends it, or a poll) means: IN_PROCESS, or a CHALLENGE in which
 * the push has not yet succeeded, is still PENDING; a CHALLENGE after the push succeeded is a policy
 * step-up this service cannot satisfy, so FAILED.
 */
export function rsaPushStatus(response: RsaAuthnResponse): StatusView {
  switch (response.attemptResponseCode) {
    case 'SUCCESS':
      return final('SUCCESS', null);
    case 'IN_PROCESS':
      return final('PENDING', null);
    case 'CHALLENGE':
      return methodResult(response, RSA_APPROVE) === 'SUCCESS' ? final('FAILED', ERROR_RSA_STEP_UP) : final('PENDING', null);
    case 'FAIL':
      return final('FAILED', ERROR_RSA_FAILED);
    default:
      return final('FAILED', errorText(response));
  }
}

/**
 * What a tokencode answer means: it is decided at once. Anything but SUCCESS is FAILED; a CHALLENGE
 * (next tokencode, new PIN, step-up) asks for an exchange this API does not offer.
 */
export function rsaTokencodeStatus(response: RsaAuthnResponse): StatusView {
  switch (response.attemptResponseCode) {
    case 'SUCCESS':
      return final('SUCCESS', null);
    case 'FAIL':
      return final('FAILED', ERROR_RSA_FAILED);
    case 'CHALLENGE':
      return methodResult(response, RSA_SECURID) === 'SUCCESS' ? final('FAILED', ERROR_RSA_STEP_UP) : final('FAILED', ERROR_RSA_FAILED);
    case 'IN_PROCESS':
      return final('FAILED', ERROR_RSA_FAILED);
    default:
      return final('FAILED', errorText(response));
  }
}

/**
 * What an initialize answer means before any credential is sent: CHALLENGE goes on to verify
 * (undefined); SUCCESS means RSA's policy asked for nothing more; FAIL and ERROR end the attempt.
 */
export function rsaInitializeOutcome(response: RsaAuthnResponse): StatusView | undefined {
  switch (response.attemptResponseCode) {
    case 'CHALLENGE':
      return undefined;
    case 'SUCCESS':
      return final('SUCCESS', null);
    case 'FAIL':
      return final('FAILED', ERROR_RSA_FAILED);
    default:
      return final('FAILED', errorText(response));
  }
}

export function encodePushState(state: RsaPushState): string {
  return JSON.stringify(state);
}

/** The stored push state, or undefined if it is not one. */
export function decodePushState(text: string | undefined): RsaPushState | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<RsaPushState>;
    if (typeof value.authnAttemptId !== 'string' || typeof value.messageId !== 'string') return undefined;
    return { authnAttemptId: value.authnAttemptId, messageId: value.messageId, referenceId: typeof value.referenceId === 'string' ? value.referenceId : null };
  } catch {
    return undefined;
  }
}
