// Configuration of the methods that rely on an outside service (Duo Web, Okta Verify, RSA SecurID), in
// the spec's MfaDuoConfig / MfaOktaConfig shape: how secrets are shown, how a PUT that echoes a masked
// value keeps the stored secret, and where a provider may be. What differs between methods (which fields
// are secret, what an enabled one requires) comes with each method as its ProviderRules
// (src/methods/<id>/provider.ts); src/methods/provider-config.ts applies each method's own.
import { providerUrlProblem, type ProviderNetworkPolicy, STRICT_PROVIDER_NETWORK } from './provider-network.js';

/** The reason a method nobody configured cannot be used (the answer of verify, test and delete alike). */
export const errorNotConfigured = (method: string): string => `MFA method ${method} is not configured.`;
export const ERROR_METHOD_DISABLED = 'MFA Method is disabled.';

export interface ProviderConfig {
  readonly method: string;
  readonly enabled: boolean;
  readonly host: string | null;
  /** Duo: the application key (akey); Okta: the API token; RSA: the Authentication API client key. */
  readonly accessKey: string | null;
  readonly identityAttribute: string | null;
  /** Duo: ikey (public) and skey (secret); RSA: clientId, assurance policy; other keys kept as given. */
  readonly configProperties: Readonly<Record<string, unknown>>;
  readonly updatedAt: number;
}

/** What differs between the provider methods' configurations. */
export interface ProviderRules {
  /** Properties inside configProperties that are secrets (sealed at rest, masked when shown). */
  readonly secretProperties: readonly string[];
  /** Whether the configuration is shown with configProperties (the spec's MfaOktaConfig has none). */
  readonly showsConfigProperties: boolean;
  /** What an enabled configuration cannot work without besides a host (every method needs one), as problems. */
  required(config: ProviderConfig): string[];
}

/** A configProperties value that is text, or undefined. */
export function configText(config: ProviderConfig, name: string): string | undefined {
  const value = config.configProperties[name];
  return typeof value === 'string' ? value : undefined;
}

/** The spec's way of showing a secret: first character, six stars, last character. */
export function mask(secret: string): string {
  if (secret.length < 4) return '******';
  return `${secret[0]}******${secret[secret.length - 1]}`;
}

const isMaskOf = (value: unknown, secret: string | undefined): boolean => secret !== undefined && value === mask(secret);

/** The configuration as the API shows it: every secret masked. */
export function publicView(config: ProviderConfig, rules: ProviderRules): Record<string, unknown> {
  const properties: Record<string, unknown> = { ...config.configProperties };
  for (const name of rules.secretProperties) {
    if (typeof properties[name] === 'string') properties[name] = mask(properties[name] as string);
  }
  const view: Record<string, unknown> = {
    mfaMethod: config.method,
    enabled: config.enabled,
    host: config.host,
    accessKey: config.accessKey === null ? null : mask(config.accessKey),
    identityAttribute: config.identityAttribute,
  };
  if (rules.showsConfigProperties) view['configProperties'] = properties;
  return view;
}

/** The view of a method nobody configured: disabled, empty. */
export function unconfiguredView(method: string, rules: ProviderRules): Record<string, unknown> {
  return publicView({ method, enabled: false, host: null, accessKey: null, identityAttribute: null, configProperties: {}, updatedAt: 0 }, rules);
}

export interface ProviderConfigInput {
  readonly mfaMethod?: string | null;
  readonly enabled?: boolean;
  readonly host?: string | null;
  readonly accessKey?: string | null;
  readonly identityAttribute?: string | null;
  readonly configProperties?: Record<string, unknown> | null;
}

/** The same place to send requests to, as far as text can tell: `host` is the only field that decides it, for every method. */
function sameDestination(stored: string | null | undefined, asked: string | null | undefined): boolean {
  const canonical = (host: string | null | undefined) => (host ?? '').trim().replace(/\/+$/, '').toLowerCase();
  return canonical(stored) !== '' && canonical(stored) === canonical(asked);
}

/**
 * The configuration a PUT asks for, or the reasons it is refused. A secret sent back exactly as the
 * GET masked it keeps the stored secret, so a client can round-trip the document it read; but only to
 * the same host: a secret is never sent to a host it was not entered for, so a PUT that changes the host
 * must carry every secret in full.
 */
export function applyConfigInput(
  method: string,
  rules: ProviderRules,
  input: ProviderConfigInput,
  existing: ProviderConfig | undefined,
  now: number,
  network: ProviderNetworkPolicy = STRICT_PROVIDER_NETWORK,
): ProviderConfig | string[] {
  const problems: string[] = [];
  if (input.mfaMethod !== undefined && input.mfaMethod !== null && input.mfaMethod !== method) {
    problems.push(`mfaMethod: must be ${method} or left out, got ${input.mfaMethod}`);
  }
  const keepsDestination = sameDestination(existing?.host, input.host);
  const echoedOnNewHost: string[] = [];
  let accessKey = input.accessKey ?? null;
  if (isMaskOf(input.accessKey, existing?.accessKey ?? undefined)) {
    if (keepsDestination) accessKey = existing!.accessKey;
    else echoedOnNewHost.push('accessKey');
  }
  const properties: Record<string, unknown> = { ...(input.configProperties ?? {}) };
  for (const name of rules.secretProperties) {
    const stored = existing?.configProperties[name];
    if (isMaskOf(properties[name], typeof stored === 'string' ? stored : undefined)) {
      if (keepsDestination) properties[name] = stored;
      else echoedOnNewHost.push(`configProperties.${name}`);
    }
  }
  for (const field of echoedOnNewHost) {
    problems.push(`${field}: the host changed, so the secret must be sent in full, not masked (a stored secret never goes to a new host)`);
  }
  const config: ProviderConfig = {
    method,
    enabled: input.enabled ?? false,
    host: input.host?.trim() || null,
    accessKey: accessKey || null,
    identityAttribute: input.identityAttribute?.trim() || null,
    configProperties: properties,
    updatedAt: now,
  };
  if (config.host !== null) {
    const problem = hostProblem(config.host, network);
    if (problem) problems.push(`host: ${problem}`);
  }
  if (config.enabled) {
    if (!config.host) problems.push('host: required when the method is enabled');
    problems.push(...rules.required(config));
  }
  return problems.length > 0 ? problems : config;
}

/** Why a host cannot be used, or undefined: a host name (https implied) or an https URL, never a blocked address. */
function hostProblem(value: string, network: ProviderNetworkPolicy): string | undefined {
  const invalid = 'must be a host name, optionally with a port, or an https URL';
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  if (!isUrl && !/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(value)) return invalid;
  let url: URL;
  try {
    url = new URL(isUrl ? value : `https://${value}`);
  } catch {
    return invalid;
  }
  return providerUrlProblem(url, network);
}

/** The secrets of a configuration, for sealing; the rest is stored as is. */
export function splitSecrets(config: ProviderConfig, rules: ProviderRules): { secrets: Record<string, string>; properties: Record<string, unknown> } {
  const secrets: Record<string, string> = {};
  const properties: Record<string, unknown> = { ...config.configProperties };
  if (config.accessKey !== null) secrets['accessKey'] = config.accessKey;
  for (const name of rules.secretProperties) {
    if (typeof properties[name] === 'string') secrets[name] = properties[name] as string;
    delete properties[name];
  }
  return { secrets, properties };
}

/** The inverse of splitSecrets. */
export function joinSecrets(
  base: Omit<ProviderConfig, 'accessKey' | 'configProperties'>,
  secrets: Readonly<Record<string, string>>,
  properties: Readonly<Record<string, unknown>>,
): ProviderConfig {
  const { accessKey, ...rest } = secrets;
  return { ...base, accessKey: accessKey ?? null, configProperties: { ...properties, ...rest } };
}
