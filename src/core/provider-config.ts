// Configuration of the methods that rely on an outside service (Duo Web, Okta Verify, RSA SecurID), in
// the spec's MfaDuoConfig / MfaOktaConfig shape: which fields are secret, how they are shown, how a PUT
// that echoes a masked value keeps the stored secret, and what each method requires.
import { providerUrlProblem, type ProviderNetworkPolicy, STRICT_PROVIDER_NETWORK } from './provider-network.js';

export const PROVIDER_METHODS = ['duo-web', 'okta-verify', 'rsa'] as const;
export type ProviderMethod = (typeof PROVIDER_METHODS)[number];

export interface ProviderConfig {
  readonly method: ProviderMethod;
  readonly enabled: boolean;
  readonly host: string | null;
  /** Duo: the application key (akey); Okta: the API token; RSA: the Authentication API client key. */
  readonly accessKey: string | null;
  readonly identityAttribute: string | null;
  /** Duo: ikey (public) and skey (secret); RSA: clientId, assurance policy; other keys kept as given. */
  readonly configProperties: Readonly<Record<string, unknown>>;
  readonly updatedAt: number;
}

/** Properties inside configProperties that are secrets, per method. */
const SECRET_PROPERTIES: Readonly<Record<ProviderMethod, readonly string[]>> = {
  'duo-web': ['skey'],
  'okta-verify': [],
  rsa: [],
};

/** The spec's way of showing a secret: first character, six stars, last character. */
export function mask(secret: string): string {
  if (secret.length < 4) return '******';
  return `${secret[0]}******${secret[secret.length - 1]}`;
}

const isMaskOf = (value: unknown, secret: string | undefined): boolean => secret !== undefined && value === mask(secret);

/** The configuration as the API shows it: every secret masked. */
export function publicView(config: ProviderConfig): Record<string, unknown> {
  const properties: Record<string, unknown> = { ...config.configProperties };
  for (const name of SECRET_PROPERTIES[config.method]) {
    if (typeof properties[name] === 'string') properties[name] = mask(properties[name] as string);
  }
  const view: Record<string, unknown> = {
    mfaMethod: config.method,
    enabled: config.enabled,
    host: config.host,
    accessKey: config.accessKey === null ? null : mask(config.accessKey),
    identityAttribute: config.identityAttribute,
  };
  if (config.method !== 'okta-verify') view['configProperties'] = properties;
  return view;
}

/** The view of a method nobody configured: disabled, empty. */
export function unconfiguredView(method: ProviderMethod): Record<string, unknown> {
  return publicView({ method, enabled: false, host: null, accessKey: null, identityAttribute: null, configProperties: {}, updatedAt: 0 });
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
  method: ProviderMethod,
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
  for (const name of SECRET_PROPERTIES[method]) {
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
  if (config.enabled) problems.push(...requiredFor(config));
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

/** What an enabled method cannot work without. */
function requiredFor(config: ProviderConfig): string[] {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = config.configProperties[name];
    return typeof value === 'string' ? value : undefined;
  };
  if (!config.host) problems.push('host: required when the method is enabled');
  switch (config.method) {
    case 'duo-web':
      // Lengths as Duo's own libraries require them.
      if (text('ikey')?.length !== 20) problems.push('configProperties.ikey: the integration key must be 20 characters');
      if (text('skey')?.length !== 40) problems.push('configProperties.skey: the secret key must be 40 characters');
      if ((config.accessKey?.length ?? 0) < 40) problems.push('accessKey: the application key must be at least 40 characters');
      if (!config.identityAttribute) problems.push('identityAttribute: required (the attribute holding the Duo username)');
      break;
    case 'okta-verify':
      if (!config.accessKey) problems.push('accessKey: the Okta API token is required');
      if (!config.identityAttribute) problems.push('identityAttribute: required (the attribute holding the Okta login)');
      break;
    case 'rsa':
      if (!config.accessKey) problems.push('accessKey: the RSA Authentication API client key is required');
      if (!text('clientId')) problems.push('configProperties.clientId: required (the application or agent name RSA knows)');
      break;
  }
  return problems;
}

/** The secrets of a configuration, for sealing; the rest is stored as is. */
export function splitSecrets(config: ProviderConfig): { secrets: Record<string, string>; properties: Record<string, unknown> } {
  const secrets: Record<string, string> = {};
  const properties: Record<string, unknown> = { ...config.configProperties };
  if (config.accessKey !== null) secrets['accessKey'] = config.accessKey;
  for (const name of SECRET_PROPERTIES[config.method]) {
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
