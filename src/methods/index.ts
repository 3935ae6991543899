// The registry: the methods this service offers, one line each. Every list of methods the service keeps
// is derived from it (the method enums, the provider calls, the OpenAPI document, the fuzz fixtures, the
// runtime wiring, the lockouts), so that a method cannot be in one and missing from another. Adding a
// method: docs/methods.md.
import type { Config } from '../config.js';
import type { AuditMethod } from '../core/audit.js';
import { officialOperation } from '../http/spec.js';
import { duoWeb } from './duo-web/index.js';
import { kba } from './kba/index.js';
import type { MethodDescriptor, ProviderConfiguration } from './method.js';
import { oktaVerify } from './okta-verify/index.js';
import { passkey } from './passkey/index.js';
import { rsa } from './rsa/index.js';
import { token } from './token/index.js';
import { totp } from './totp/index.js';

/** In the order they were added; lists shown to callers follow the spec's order instead (METHODS). */
export const METHOD_DESCRIPTORS = [
  token,
  kba,
  duoWeb,
  oktaVerify,
  rsa,
  totp,
  passkey,
] as const;

type Descriptor = (typeof METHOD_DESCRIPTORS)[number];

/** A method's id. */
export type Method = Descriptor['id'];

/** The id of a method that relies on an outside provider, configured through GET/PUT /mfa/{method}/config. */
export type ProviderMethod = Extract<Descriptor, { readonly provider: ProviderConfiguration }>['id'];

/**
 * Ids in the order of an enum of the official spec (its 400 answers list them in that order), this service's
 * own after them in registry order.
 */
function inSpecOrder<Id extends string>(ids: readonly Id[], specEnum: readonly string[]): Id[] {
  const rank = (id: string) => (specEnum.includes(id) ? specEnum.indexOf(id) : specEnum.length);
  return ids.map((id, index) => ({ id, index })).sort((a, b) => rank(a.id) - rank(b.id) || a.index - b.index).map(({ id }) => id);
}

/** The enum of the `method` path parameter of an official operation. */
export function specMethodEnum(path: string, verb: string): readonly string[] {
  const parameters = (officialOperation(path, verb)['parameters'] ?? []) as Array<{ name?: string; schema?: { enum?: string[] } }>;
  return parameters.find((p) => p.name === 'method')?.schema?.enum ?? [];
}

/** Every method, in the order of the spec's poll enum: the poll enum itself, the audit filter, the CLI's. */
export const METHODS: readonly Method[] = inSpecOrder(
  METHOD_DESCRIPTORS.map((d) => d.id),
  specMethodEnum('/mfa/{method}/poll', 'post'),
);

const isProvider = (d: Descriptor): d is Extract<Descriptor, { readonly provider: ProviderConfiguration }> => d.provider !== undefined;

/** The methods with a provider configuration, in registry order. */
export const PROVIDER_DESCRIPTORS = METHOD_DESCRIPTORS.filter(isProvider);
export const PROVIDER_METHODS: readonly ProviderMethod[] = PROVIDER_DESCRIPTORS.map((d) => d.id);

/** The provider methods the versioned MFA Configuration API v1 serves the configuration calls of. */
export const CONFIGURATION_V1_PROVIDER_METHODS: readonly ProviderMethod[] = PROVIDER_DESCRIPTORS.filter((d) =>
  d.openapi.configurationV1?.some(([path]) => path === `/mfa/${d.id}/config`),
).map((d) => d.id);

/** The methods' provider method enum for a `{method}` path parameter: the spec's order, this service's own after. */
export function providerMethodsInSpecOrder(methods: readonly ProviderMethod[], path: string, verb: string): ProviderMethod[] {
  return inSpecOrder(methods, specMethodEnum(path, verb));
}

/** The provider configuration of a provider method. */
export function providerOf(method: string): ProviderConfiguration {
  const provider = PROVIDER_DESCRIPTORS.find((d) => d.id === method)?.provider;
  if (!provider) throw new Error(`no provider method ${method}`);
  return provider;
}

/** The methods that keep per-identity lockouts, in registry order: an operator's unlock ends them, a factor change waits for them. */
export const LOCKOUT_METHODS: readonly Method[] = METHOD_DESCRIPTORS.filter((d) => d.keepsLockouts).map((d) => d.id);

/** The methods that keep per-identity lockouts under this configuration, with their failure windows, in registry order. */
export function lockoutsOf(config: Config): Array<{ readonly method: Method; readonly failureWindowSeconds: number }> {
  return METHOD_DESCRIPTORS.flatMap((d) => {
    const lockout = d.lockout(config);
    return lockout ? [{ method: d.id, failureWindowSeconds: lockout.failureWindowSeconds }] : [];
  });
}

/** Every descriptor, typed for code that handles methods alike. */
export const DESCRIPTORS: readonly MethodDescriptor<Method>[] = METHOD_DESCRIPTORS;

/** What the audit trail's events are about: every method, and the operator console's changes. */
export const AUDIT_METHODS: readonly AuditMethod[] = [...METHODS, 'console'];
