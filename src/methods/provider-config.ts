// Provider configuration by method id: the pure rules of src/core/provider-config.ts, each method's own
// applied (its ProviderRules, from its descriptor). What ProviderConfigs and the configuration calls use.
import * as rules from '../core/provider-config.js';
import type { ProviderNetworkPolicy } from '../core/provider-network.js';
import { STRICT_PROVIDER_NETWORK } from '../core/provider-network.js';
import { providerOf, type ProviderMethod } from './index.js';

export type { ProviderConfig, ProviderConfigInput } from '../core/provider-config.js';
export type { ProviderMethod } from './index.js';
export { joinSecrets, mask } from '../core/provider-config.js';

const rulesOf = (method: string): rules.ProviderRules => providerOf(method).rules;

/** The configuration as the API shows it: every secret masked, in the method's schema. */
export function publicView(config: rules.ProviderConfig): Record<string, unknown> {
  return rules.publicView(config, rulesOf(config.method));
}

/** The view of a method nobody configured: disabled, empty. */
export function unconfiguredView(method: ProviderMethod): Record<string, unknown> {
  return rules.unconfiguredView(method, rulesOf(method));
}

/** The configuration a PUT asks for, or the reasons it is refused (src/core/provider-config.ts). */
export function applyConfigInput(
  method: ProviderMethod,
  input: rules.ProviderConfigInput,
  existing: rules.ProviderConfig | undefined,
  now: number,
  network: ProviderNetworkPolicy = STRICT_PROVIDER_NETWORK,
): rules.ProviderConfig | string[] {
  return rules.applyConfigInput(method, rulesOf(method), input, existing, now, network);
}

/** The secrets of a configuration, for sealing; the rest is stored as is. */
export function splitSecrets(config: rules.ProviderConfig): { secrets: Record<string, string>; properties: Record<string, unknown> } {
  return rules.splitSecrets(config, rulesOf(config.method));
}
