// RSA SecurID's configuration (this service's extension, in the shape of the spec's MfaDuoConfig): the
// Authentication API URL (host), its client key (accessKey, sealed and masked), the client id RSA knows
// the caller by, and optional properties (docs/rsa.md).
import { configText } from '../../core/provider-config.js';
import type { ProviderConfiguration } from '../method.js';

export const rsaProvider: ProviderConfiguration = {
  schema: 'MfaDuoConfig',
  rules: {
    secretProperties: [],
    showsConfigProperties: true,
    required(config) {
      const problems: string[] = [];
      if (!config.accessKey) problems.push('accessKey: the RSA Authentication API client key is required');
      if (!configText(config, 'clientId')) problems.push('configProperties.clientId: required (the application or agent name RSA knows)');
      return problems;
    },
  },
  example: (host) => ({ mfaMethod: 'rsa', enabled: true, host, accessKey: 'rsa-client-key-for-fuzzing', identityAttribute: 'email', configProperties: { clientId: 'fuzz-agent' } }),
};
