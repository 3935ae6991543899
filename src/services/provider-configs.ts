// Provider configurations: sealed at rest, shown masked, tested against the provider itself.
import type { Sealer } from '../auth/seal.js';
import { badRequest } from '../core/errors.js';
import type { Clock, ProviderConfigStore } from '../core/ports.js';
import { STRICT_PROVIDER_NETWORK, type ProviderNetworkPolicy } from '../core/provider-network.js';
import { ERROR_METHOD_DISABLED, errorNotConfigured } from '../core/provider-config.js';
import {
  applyConfigInput,
  joinSecrets,
  publicView,
  splitSecrets,
  unconfiguredView,
  type ProviderConfig,
  type ProviderConfigInput,
  type ProviderMethod,
} from '../methods/provider-config.js';

/** What `GET /mfa/{method}/test` reports. */
export type ProviderTestResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Asks the provider whether a configuration works (Duo's check, Okta's factor listing, RSA's initialize). */
export type ProviderTester = (config: ProviderConfig) => Promise<ProviderTestResult>;

export interface ProviderConfigsOptions {
  /** Which hosts a PUT may name (src/core/provider-network.ts). */
  readonly network?: ProviderNetworkPolicy;
  /**
   * Told after a configuration was saved or removed, so the method's circuit forgets failures that the
   * old configuration caused. Must not throw.
   */
  readonly onChange?: (method: ProviderMethod) => void;
}

export class ProviderConfigs {
  constructor(
    private readonly store: ProviderConfigStore,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly options: ProviderConfigsOptions = {},
  ) {}

  async get(method: ProviderMethod): Promise<ProviderConfig | undefined> {
    const stored = await this.store.findProviderConfig(method);
    if (!stored) return undefined;
    const secrets = JSON.parse(this.sealer.unseal(stored.sealedSecrets)) as Record<string, string>;
    return joinSecrets(
      { method, enabled: stored.enabled, host: stored.host, identityAttribute: stored.identityAttribute, updatedAt: stored.updatedAt },
      secrets,
      stored.properties,
    );
  }

  async view(method: ProviderMethod): Promise<Record<string, unknown>> {
    const config = await this.get(method);
    return config ? publicView(config) : unconfiguredView(method);
  }

  async put(method: ProviderMethod, input: ProviderConfigInput): Promise<Record<string, unknown>> {
    const result = applyConfigInput(method, input, await this.get(method), this.clock.now(), this.options.network ?? STRICT_PROVIDER_NETWORK);
    if (Array.isArray(result)) throw badRequest(`The ${method} configuration was not saved.`, result);
    const { secrets, properties } = splitSecrets(result);
    await this.store.putProviderConfig({
      method,
      enabled: result.enabled,
      host: result.host,
      identityAttribute: result.identityAttribute,
      properties,
      sealedSecrets: this.sealer.seal(JSON.stringify(secrets)),
      updatedAt: result.updatedAt,
    });
    this.options.onChange?.(method);
    return publicView(result);
  }

  /** Removes the configuration; the masked view of what was removed, or undefined if there was none. */
  async delete(method: ProviderMethod): Promise<Record<string, unknown> | undefined> {
    const config = await this.get(method);
    if (!config || !(await this.store.deleteProviderConfig(method))) return undefined;
    this.options.onChange?.(method);
    return publicView(config);
  }

  /** The configuration if the method can be used now, else the reason it cannot. */
  async usable(method: ProviderMethod): Promise<ProviderConfig | string> {
    const config = await this.get(method);
    if (!config) return errorNotConfigured(method);
    if (!config.enabled) return ERROR_METHOD_DISABLED;
    return config;
  }
}
